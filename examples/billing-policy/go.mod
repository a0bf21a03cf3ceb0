module github.com/aignehub/hub/examples/billing-policy

go 1.26

require (
	github.com/aignehub/hub v0.0.0
	github.com/aignehub/hub/sdk v0.0.0
)

require (
	github.com/tetratelabs/wazero v1.12.0 // indirect
	golang.org/x/sys v0.44.0 // indirect
)

replace (
	github.com/aignehub/hub => ../..
	github.com/aignehub/hub/sdk => ../../sdk
)
