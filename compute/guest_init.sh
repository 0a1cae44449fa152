#!/bin/busybox sh
# /init of minicloud's tiny lab guests (see compute/guest_image.py, which parses the report).
# Prints one MINICLOUD-* item per line on the serial console, then keeps a shell running.
# PID 1 must never exit (the kernel would panic), so nothing here uses `set -e`.
/bin/busybox mkdir -p /proc /sys /dev /tmp /sbin /usr/bin /usr/sbin /var/log /var/run
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

# Load order is written by the builder (modprobe --show-depends order).
while read -r module; do
    insmod "/lib/modules/$module" 2>/dev/null
done < /etc/modules

# With console=ttyS0 the console IS the serial port: write there once, never twice.
emit() {
    echo "$*" > /dev/console
    if ! grep -qw ttyS0 /sys/class/tty/console/active 2>/dev/null; then
        echo "$*" > /dev/ttyS0 2>/dev/null
    fi
}

uuid=$(tr 'A-F' 'a-f' < /sys/class/dmi/id/product_uuid 2>/dev/null)
firmware=bios
[ -d /sys/firmware/efi ] && firmware=uefi
emit "MINICLOUD-GUEST uuid=$uuid firmware=$firmware"

disks=$(cd /sys/block && ls -d vd* 2>/dev/null | sort)
for disk in $disks; do
    sectors=$(cat "/sys/block/$disk/size")
    serial=$(tr -d ' \t\r\n' < "/sys/block/$disk/serial" 2>/dev/null)
    emit "MINICLOUD-DISK name=$disk size=$((sectors * 512)) serial=$serial"
done

# A disk with a serial is a persistent volume: report the marker a previous instance left,
# and leave ours, but only on a sector that is blank or already a minicloud marker. The
# marker is in sector 0 of a whole-disk volume; a disk with a partition table (a boot
# volume: its sector 0 ends in 55 aa) keeps it in sector 2047, the last one before the
# first partition at 1 MiB.
for disk in $disks; do
    serial=$(tr -d ' \t\r\n' < "/sys/block/$disk/serial" 2>/dev/null)
    [ -n "$serial" ] || continue
    sector=0
    signature=$(dd if="/dev/$disk" bs=1 skip=510 count=2 2>/dev/null | od -An -tx1 | tr -d ' \n')
    [ "$signature" = 55aa ] && sector=2047
    rm -f /tmp/sector
    # An unreadable sector is not a blank one: nothing is written then.
    readable=no
    dd if="/dev/$disk" of=/tmp/sector bs=512 skip=$sector count=1 2>/dev/null \
        && [ "$(wc -c < /tmp/sector)" = 512 ] && readable=yes
    found=
    prefix=$(head -c 17 /tmp/sector 2>/dev/null)
    if [ "$prefix" = "MINICLOUD-MARKER " ]; then
        found=$(tr '\000' '\n' < /tmp/sector | head -n 1 | cut -c 18-)
    fi
    wrote=
    if [ "$readable" = yes ] && { [ "$prefix" = "MINICLOUD-MARKER " ] \
            || [ "$(tr -d '\000' < /tmp/sector | wc -c)" -eq 0 ]; }; then
        wrote="instance=$uuid time=$(date +%s)"
        printf 'MINICLOUD-MARKER %s\n' "$wrote" > /tmp/marker
        dd if=/tmp/marker of="/dev/$disk" bs=512 seek=$sector count=1 conv=sync,notrunc,fsync \
            2>/dev/null
        sync
    fi
    emit "MINICLOUD-VOLUME name=$disk serial=$serial sector=$sector found=$found wrote=$wrote"
done

# A config drive (OpenStack's layout on a file system labelled config-2, a CD-ROM or a disk
# on the SATA bus): report the server's uuid, the MD5 fingerprint of its first ssh key (as
# Nova shows it) and the sha256 of its user data. No config drive: nothing is printed.
# The AHCI ports were probed while its module loaded (insmod waits for the probe).
mkdir -p /mnt/config
for dev in $(findfs LABEL=config-2 2>/dev/null) /dev/sr0; do
    [ -b "$dev" ] || continue
    mount -o ro "$dev" /mnt/config 2>/dev/null || continue
    meta=/mnt/config/openstack/latest/meta_data.json
    if [ -f "$meta" ]; then
        # json.dumps order: "uuid" is the first key; the first "data" is keys[0]'s (a
        # quote inside a JSON string is escaped, so neither pattern matches user text).
        id=$(sed -n 's/^{"uuid": "\([^"]*\)".*/\1/p' "$meta")
        data=$(grep -o '"data": "[^"]*"' "$meta" | head -n 1 | cut -d'"' -f4)
        key=none
        case "$data" in
            ssh-*|ecdsa-*)
                key=$(echo "$data" | cut -d' ' -f2 | base64 -d 2>/dev/null | md5sum \
                      | cut -c1-32 | sed 's/../&:/g; s/:$//') ;;
        esac
        user_data=none
        if [ -f /mnt/config/openstack/latest/user_data ]; then
            user_data=$(sha256sum < /mnt/config/openstack/latest/user_data | cut -c1-64)
        fi
        emit "MINICLOUD-METADATA uuid=$id key=$key user_data=$user_data"
        umount /mnt/config
        break
    fi
    umount /mnt/config
done

# ACPI power button (libvirt's shutdown) -> power off at once. Listening before READY, so
# a shutdown asked for as soon as the report is complete is never lost. acpid needs
# /var/log and /var/run, or it dies silently once in the background.
mkdir -p /etc/acpi/PWRF
printf '#!/bin/sh\nsync\npoweroff -f\n' > /etc/acpi/PWRF/00000080
chmod 755 /etc/acpi/PWRF/00000080
acpid 2>/dev/null

emit "MINICLOUD-READY"

while true; do
    setsid cttyhack sh
    sleep 1
done
