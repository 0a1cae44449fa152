"""Run one API service under gunicorn: ``python -m minicloud.serve SERVICE``.

The runner starts one such process per service with ``MINICLOUD_STATE_DIR`` set; gunicorn's
threaded workers stream request and response bodies (chunked uploads included) without
buffering them whole.
"""
from __future__ import annotations

import logging
import sys

from gunicorn.app.base import BaseApplication

from minicloud import httpserver, services
from minicloud.config import Config
from minicloud.paths import StatePaths
from minicloud.wsgi import LOG_FORMAT, RequestIdFilter

ACCESS_LOG_FORMAT = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms [%({x-openstack-request-id}o)s] "%(a)s"'


class _Gunicorn(BaseApplication):
    def __init__(self, app, options: dict) -> None:
        self._app, self._options = app, options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self):
        return self._app


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        sys.exit("usage: python -m minicloud.serve SERVICE")
    svc = services.by_name(argv[0])
    conf = Config.load()
    paths = StatePaths(conf.state_dir)
    logging.basicConfig(level=conf.DEFAULT.log_level.upper(), format=LOG_FORMAT)
    for handler in logging.getLogger().handlers:
        handler.addFilter(RequestIdFilter())
    app = svc.create_app(conf)
    httpserver.Worker.read_timeout = conf.DEFAULT.client_timeout
    options = {
        "bind": f"{conf.DEFAULT.bind_host}:{svc.port(conf)}",
        "workers": conf.DEFAULT.workers,
        "threads": conf.DEFAULT.threads,
        "worker_class": "minicloud.httpserver.Worker",
        "keepalive": conf.DEFAULT.keepalive,
        "timeout": 120,
        "graceful_timeout": 10,
        "pidfile": str(paths.pidfile(svc.name)),
        "accesslog": str(paths.log(f"{svc.name}-access")),
        "access_log_format": ACCESS_LOG_FORMAT,
        "errorlog": str(paths.log(svc.name)),
        "loglevel": conf.DEFAULT.log_level.lower(),
        "proc_name": f"minicloud-{svc.name}",
    }
    on_worker_start = app.extensions.get("on_worker_start")
    if on_worker_start is not None:
        options["post_worker_init"] = lambda _worker: _run_hook(on_worker_start)
    _Gunicorn(app, options).run()


def _run_hook(hook) -> None:
    """A service's work at each worker's start (``app.extensions["on_worker_start"]``, e.g.
    the image service re-queueing uploads whose worker died); a failure is logged, the
    worker serves anyway."""
    try:
        hook()
    except Exception:  # noqa: BLE001 - never keep a worker from serving
        logging.getLogger(__name__).exception("worker start hook failed")


if __name__ == "__main__":
    main()
