"""``headroom ui``: serve the web app (chat, estimator, GPUs, guide) on this machine.

    headroom ui                                  # http://127.0.0.1:7860, offline answers
    headroom ui --host 0.0.0.0 --port 8080 --auth alice:s3cret
    HEADROOM_UI_AUTH=alice:s3cret headroom ui    # the same login, kept out of the process list

Answers come from the offline answerer and the local knowledge base unless an LLM is configured
(see ``assistant/config.py``). Registered in the main group by ``ui/cli.py``; Gradio is imported
only when the command runs, so ``headroom --help`` stays fast.
"""

from __future__ import annotations

import socket

import click

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """``user:password`` -> (user, password); None when empty. The password may contain ':'."""
    if value is None or not value.strip():
        return None
    user, sep, password = value.strip().partition(":")
    if not sep or not user or not password:
        raise click.BadParameter("use USER:PASSWORD, e.g. alice:s3cret", param_hint="--auth")
    return user, password


def port_free(host: str, port: int) -> bool:
    """True when ``host:port`` can be bound now (checked before the slow start-up)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


@click.command("ui")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="interface to listen on (0.0.0.0: every interface; use --auth then)")
@click.option("--port", type=click.IntRange(1, 65535), default=7860, show_default=True,
              help="TCP port")
@click.option("--auth", "auth", envvar="HEADROOM_UI_AUTH", default=None, metavar="USER:PASSWORD",
              help="require this login (env HEADROOM_UI_AUTH)")
@click.option("--share/--no-share", default=False, show_default=True,
              help="also open a public *.gradio.live link (needs the internet)")
@click.option("--no-warm-up", "warm", flag_value=False, default=True,
              help="skip loading the knowledge index before serving")
def ui(host: str, port: int, auth: str | None, share: bool, warm: bool) -> None:
    """Serve the Headroom web app: chat, estimator, my GPUs and the guide.

    Example: headroom ui --port 7860, then open http://127.0.0.1:7860
    """
    login = parse_auth(auth)
    from ui.web import MissingDependencyError, require_web

    try:
        require_web()
    except MissingDependencyError as e:
        raise click.ClickException(str(e)) from None
    local = host in LOOPBACK
    if not local and login is None:
        click.echo(f"warning: serving on {host} without --auth: anyone who can reach this "
                   "machine can use the app", err=True)
    if not port_free(host, port):
        raise click.ClickException(f"port {port} on {host} is in use; pick another --port")
    from ui.web import build_demo, serve, warm_up

    if warm:
        click.echo("loading the estimator and knowledge base…", err=True)
        warm_up()
    demo = build_demo(allow_local_probe=local)  # "my GPU" means this machine's only locally
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    click.echo(f"Headroom web app on http://{shown}:{port}  (Ctrl+C stops it)", err=True)
    try:
        serve(demo, host=host, port=port, auth=login, share=share, quiet=True)
    except OSError as e:
        raise click.ClickException(f"cannot serve on {host}:{port}: {e}; pick another --port"
                                   ) from None
