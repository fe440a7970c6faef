module github.com/baoguan/baoguan

go 1.26.8

require (
	github.com/golang-jwt/jwt/v5 v5.3.1 // payzero login tokens (HS256 JWTs, as the vendor document specifies)
	github.com/jackc/pgx/v5 v5.12.0 // PostgreSQL store: pgx native pool, not database/sql (per-connection statement cache, binary protocol, LISTEN); see postgres/postgres.go
	github.com/prometheus/client_golang v1.25.0 // /metrics in the Prometheus exposition format
	github.com/santhosh-tekuri/jsonschema/v6 v6.0.3 // tests only: native API answers validated against docs/openapi.json
	github.com/skip2/go-qrcode v0.0.0-20200617195104-da1b6568686e // PNG QR codes of the payzero sandbox pay page
	github.com/spf13/cobra v1.10.2 // the CLI: subcommands, help, flags
	github.com/spf13/pflag v1.0.9 // cobra's flags; config.go binds flags, environment and defaults through it
	github.com/wechatpay-apiv3/wechatpay-go v0.2.20 // WeChat Pay's official APIv3 SDK: request signing and answer verification for the wechatpay customs client; wechatv3 tests drive baoguan with it
	modernc.org/sqlite v1.61.1 // the embedded store without cgo, so the binary stays static
)

require (
	github.com/chromedp/chromedp v0.23.1 // tests only: drives Debian's chromium over the DevTools protocol for the console's browser test (no bundled browser, no Node)
	github.com/xuri/excelize/v2 v2.11.1 // .xlsx import and export (sheet/): streaming row reader and writer, so a 10,000-row upload stays far below 200 MB
	golang.org/x/crypto v0.59.0 // argon2id password hashes of console accounts (core/accounts.go)
	golang.org/x/term v0.48.0 // the CLI draws a progress bar only when stderr is a terminal (batch import, orders export)
	golang.org/x/text v0.44.0 // GB18030 CSV, as Excel saves CSV on Chinese Windows (sheet/)
)

require (
	github.com/beorn7/perks v1.0.1 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/chromedp/cdproto v0.160.1 // indirect
	github.com/dustin/go-humanize v1.1.0 // indirect
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/inconshreveable/mousetrap v1.1.0 // indirect
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/jackc/puddle/v2 v2.2.3 // indirect
	github.com/mattn/go-isatty v0.0.24 // indirect
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	github.com/ncruces/go-strftime v1.1.0 // indirect
	github.com/prometheus/client_model v0.6.3 // indirect
	github.com/prometheus/common v0.72.0 // indirect
	github.com/prometheus/procfs v0.22.0 // indirect
	github.com/remyoudompheng/bigfft v0.0.0-20230129092748-24d4a6f8daec // indirect
	github.com/richardlehane/mscfb v1.0.9 // indirect
	github.com/richardlehane/msoleps v1.0.6 // indirect
	github.com/tiendc/go-deepcopy v1.7.2 // indirect
	github.com/xuri/efp v0.0.3-0.20260924042702-217b81952dec // indirect
	github.com/xuri/nfp v0.0.2-0.20250530014748-2ddeb826f9a9 // indirect
	golang.org/x/net v0.62.0 // indirect
	golang.org/x/sync v0.25.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
	modernc.org/libc v1.79.0 // indirect
	modernc.org/mathutil v1.7.1 // indirect
	modernc.org/memory v1.12.1 // indirect
)
