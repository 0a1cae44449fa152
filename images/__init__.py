"""Image service: a Glance v2 subset (images, data, tags, members, import)."""
