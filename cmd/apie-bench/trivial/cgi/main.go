// Command cgi is the floor for apie-cgi: the smallest useful Go CGI program
// (net/http/cgi answering a fixed JSON body), built the same way as
// apie-cgi, so a request's cost under the same Apache minus this one's is
// what apie itself adds.
package main

import (
	"io"
	"net/http"
	"net/http/cgi"
	"os"
)

func main() {
	err := cgi.Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"ok"}`+"\n")
	}))
	if err != nil {
		os.Exit(1)
	}
}
