package app

import (
	"apie/config"
	"apie/webroot"
)

// CheckWebRoot returns webroot.Check's answer for cfg's files (the config
// file, the event log and blob store directories, passwd and the token
// key, and the consumers' directory) in the CGI environment getenv describes, or nil when the config
// says to trust the web server (cgi.trustWebRoot).
func CheckWebRoot(cfg config.Config, getenv func(string) string) error {
	if cfg.CGI.TrustWebRoot {
		return nil
	}
	return webroot.Check(getenv,
		[]string{cfg.EventLog.Path, cfg.ContentStore.Path, cfg.Consumers.Path},
		[]string{cfg.Source, cfg.Passwd.Path, cfg.Auth.TokenKey})
}

// exposedMessage is what a client is told when apie-cgi refuses to serve
// because its files are exposed: what to do, without a path.
const exposedMessage = `apie's data lies inside the web root without the shipped .htaccess: ` +
	`copy htaccess/.htaccess beside apie-cgi or move the data out of the web root; ` +
	`see README 'Deploy on a shared host' (the detail is in the server's error log)`
