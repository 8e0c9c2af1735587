"""Console accounts from the command line: `python -m console --help`.

python -m console create-user wang --role customer_service --name 王客服   (asks the password)
python -m console demo-admin      (local mode only: admin with a fresh password, printed)
"""

from __future__ import annotations

import argparse
import getpass
import sys

from backend.core import db
from backend.core.config import load_settings
from backend.core.models import CONSOLE_ROLES
from console import users

DEMO_ADMIN = "admin"


def cmd_create_user(args: argparse.Namespace) -> int:
    password = load_settings().console_password
    generated = False
    if not password and args.generate_password:
        password, generated = users.new_password(), True
    if not password:
        password = getpass.getpass("password: ")
        if password != getpass.getpass("again: "):
            print("the passwords differ", file=sys.stderr)
            return 2
    url = args.database_url or load_settings().database_url
    try:
        with db.session_scope(db.get_engine(url)) as session:
            user = users.create_user(session, args.username, password, args.role, args.name or "", args.staff_id)
    except ValueError as exc:
        print(f"not created: {exc}", file=sys.stderr)
        return 2
    print(f"created console user {user.username} ({user.role})")
    if generated:
        print(f"password: {password}")
    return 0


def cmd_demo_admin(args: argparse.Namespace) -> int:
    settings = load_settings()
    if not settings.local_mode:
        print("demo-admin only runs in local mode (no WeChat credentials)", file=sys.stderr)
        return 2
    url = args.database_url or settings.database_url
    password = users.new_password()
    # A fresh password on every `make run`: the old one was only ever printed, never stored.
    with db.session_scope(db.get_engine(url)) as session:
        user = users.find(session, DEMO_ADMIN)
        if user is None:
            users.create_user(session, DEMO_ADMIN, password, "admin", "演示管理员")
        else:
            users.set_password(user, password)
            user.active = True
    print(f"console login: user {DEMO_ADMIN}  password {password}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m console", description="Staff console accounts.")
    parser.add_argument("--database-url", help="overrides DATABASE_URL")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    create = sub.add_parser("create-user", help="add a console user (password asked, or CONSOLE_PASSWORD)")
    create.add_argument("username")
    create.add_argument("--role", required=True, choices=CONSOLE_ROLES)
    create.add_argument("--name", help="display name, e.g. 王客服")
    create.add_argument("--staff-id", type=int, help="the Staff record this person is")
    create.add_argument("--generate-password", action="store_true", help="make one up and print it")
    create.set_defaults(func=cmd_create_user)
    demo = sub.add_parser("demo-admin", help="local mode: user admin with a new password, printed")
    demo.set_defaults(func=cmd_demo_admin)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
