// Package js holds apie's JavaScript client, apie.js, as its Go module's
// own bytes, so the web page apie serves (package ui) can hand it out
// exactly as it is kept here and published.
package js

import _ "embed"

// Module is apie.js, the client module, byte for byte.
//
//go:embed apie.js
var Module []byte
