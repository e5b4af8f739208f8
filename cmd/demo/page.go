package main

import (
	"embed"
	"net/http"

	"github.com/gin-gonic/gin"
)

// pageFS holds the page at /: plain HTML, CSS and JavaScript, no build step.
//
//go:embed page
var pageFS embed.FS

// pageCSP allows the page nothing but its own files and requests.
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// servePage serves the page at /.
func servePage(c *gin.Context) {
	serveEmbedded(c, "index.html")
}

// serveStatic serves the page's script and style sheet at /static/:name.
func serveStatic(c *gin.Context) {
	name := c.Param("name")
	if name != "app.js" && name != "style.css" {
		c.String(http.StatusNotFound, "404 page not found")
		return
	}
	serveEmbedded(c, name)
}

// serveEmbedded serves a file of pageFS.
func serveEmbedded(c *gin.Context, name string) {
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache")
	http.ServeFileFS(c.Writer, c.Request, pageFS, "page/"+name)
}
