// Package web holds the dashboard's built files for the hub binary to
// embed: web/dist is the Vite build of the React app in web/src (make
// build runs npm ci and the build). The build output is not committed;
// only dist/.gitkeep is, so that the embed always has a directory and a
// hub built without npm serves a "dashboard not built" page instead
// (host/dashboard).
package web

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Dist returns the built app: index.html at its root and hashed files
// under assets/, or only .gitkeep when the app was not built.
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic("web: " + err.Error()) // "dist" is a valid path: cannot happen
	}
	return sub
}
