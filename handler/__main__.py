from handler.local import main

raise SystemExit(main())
