"""Run every benchmark and print its figures: ``python -m bench`` (or ``make bench``)."""

from __future__ import annotations

import argparse

from bench import engine_throughput, handler_init, write_units


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leads", type=int, default=500, help="leads in the synthetic traffic")
    parser.add_argument("--events-per-lead", type=int, default=12)
    arguments = parser.parse_args()
    engine_throughput.run(arguments.leads, arguments.events_per_lead)
    write_units.run(arguments.leads, arguments.events_per_lead)
    handler_init.run()


if __name__ == "__main__":
    main()
