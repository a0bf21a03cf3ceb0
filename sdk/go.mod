module github.com/aignehub/hub/sdk

go 1.26
