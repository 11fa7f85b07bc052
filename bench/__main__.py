"""python -m bench: run the benchmarks and write bench/results/latest.{json,md}."""

from bench.run import main

raise SystemExit(main())
