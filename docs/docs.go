// Package docs embeds documents that the server also serves, so the copy in
// docs/ is the one clients get.
package docs

import _ "embed"

// OpenAPI is the OpenAPI 3.1 description of the native /v1 API.
//
//go:embed openapi.json
var OpenAPI []byte
