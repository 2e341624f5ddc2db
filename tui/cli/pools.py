"""`vmdeck pools check|create HOST`: the realm's four storage pools on a host (check reads, create
defines, builds, starts and autostarts what is missing), through tui/services/actions/pools.py.
"""

from __future__ import annotations

import argparse
from typing import Any

from tui.cli.deck import action_options, run_action
from tui.services.actions import check_pools, create_pools
from tui.services.actions.pools import DEFAULT_POOL_BASE


def register(subparsers: Any) -> None:
    pools = subparsers.add_parser("pools", help="the realm's four storage pools on a host")
    pool_actions = pools.add_subparsers(dest="pools_command", metavar="ACTION", required=True)
    check = pool_actions.add_parser("check", help="do the pools exist, run and autostart?")
    action_options(check, mutates=False)
    check.add_argument("host")
    check.set_defaults(handler=run_pools_check)
    create = pool_actions.add_parser(
        "create", help="define/build/start/autostart what is missing (dir pools)"
    )
    action_options(create, target=None)
    create.add_argument("host")
    create.add_argument(
        "--path", default=None, help="base directory on the host (default /var/lib/libvirt/ticrypt)"
    )
    create.set_defaults(handler=run_pools_create)


def run_pools_check(args: argparse.Namespace) -> int:
    return run_action(args, lambda deck: check_pools(deck, args.host))


def run_pools_create(args: argparse.Namespace) -> int:
    return run_action(
        args, lambda deck: create_pools(deck, args.host, args.path or DEFAULT_POOL_BASE, args.reason)
    )
