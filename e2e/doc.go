// Package e2e holds apie's end-to-end tests; it has no code of its own.
//
// The tests build bin/apie-cgi and bin/apie-serve once per run (static:
// CGO_ENABLED=0, -trimpath) and drive them over real HTTP:
//
//   - apie-serve on a free 127.0.0.1 port with a temporary data directory;
//   - apie-cgi under a private Apache 2.4 (Debian's apache2) started by the
//     test, installed the way a shared-host user would install it (the
//     binary, apie.json and the shipped htaccess/.htaccess in a directory
//     with AllowOverride All), in two configurations: prefork MPM with
//     mod_cgi, and event MPM with mod_cgid;
//   - optionally apie-cgi under nginx with fcgiwrap.
//
// One contract table (contract_test.go) runs against every transport, so the
// CGI edge and the server answer the same routes the same way; it also runs
// in-process, against apie-serve's handler over a temporary store
// (internal/apietest), in about a second. Requests go through the client
// package. Other tests
// cover what only CGI has (411 for chunked bodies, a broken apie.json, the
// config lookup order), what Apache must keep from the web (config, passwd,
// data), CGI requests and a server appending to one data directory at once,
// and that the distributed binary is static.
//
// Without Apache the Apache tests are skipped, unless APIE_REQUIRE_APACHE=1
// (set by .ci/run), which makes its absence a failure. APIE_REQUIRE_NGINX=1
// does the same for nginx and fcgiwrap, and APIE_REQUIRE_PYTHON=1 for
// python3, which runs the README's Python verifier (with the rfc8785
// package it names, kept in testdata/python).
package e2e
