module github.com/aignehub/hub/sdk

go 1.26

require (
	github.com/tidwall/gjson v1.20.2
	github.com/tidwall/pretty v1.3.0
)

require github.com/tidwall/match v1.1.1 // indirect
