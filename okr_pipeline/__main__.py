from okr_pipeline.cli import main

raise SystemExit(main())
