package handler

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"apie/auth"
)

// info serves GET /info: version, the caller, the configuration in force.
func (h *Handler) info(w http.ResponseWriter, r *http.Request) {
	u, _ := auth.FromContext(r.Context())
	writeJSON(w, http.StatusOK, map[string]any{
		"status":  "ok",
		"version": h.opts.Version,
		"user":    map[string]string{"email": u.Email, "info": u.Info},
		"admin":   h.isAdmin(r),
		"config":  h.opts.PublicConf,
	})
}

type userUpdate struct {
	Password *string `json:"password"`
	Info     *string `json:"info"`
}

// updateUser serves POST /user/update: the caller changes their own
// password and/or info.
func (h *Handler) updateUser(w http.ResponseWriter, r *http.Request) {
	body, err := h.readBody(w, r, 64<<10)
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	var upd userUpdate
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if !utf8.Valid(body) {
		writeError(w, r, h.opts.Logger, badRequest("body is not valid UTF-8"))
		return
	}
	if err := dec.Decode(&upd); err != nil || dec.More() {
		writeError(w, r, h.opts.Logger, badRequest(`want a JSON object {"password"?: string, "info"?: string}`))
		return
	}
	if upd.Password == nil && upd.Info == nil {
		writeError(w, r, h.opts.Logger, badRequest("nothing to change: send password and/or info"))
		return
	}
	if upd.Password != nil && (*upd.Password == "" || len(*upd.Password) > 72) {
		writeError(w, r, h.opts.Logger, badRequest("password must be 1 to 72 bytes (bcrypt's limit)"))
		return
	}
	if upd.Info != nil && strings.ContainsAny(*upd.Info, "\r\n\x00") {
		writeError(w, r, h.opts.Logger, badRequest("info must be one line"))
		return
	}
	u, _ := auth.FromContext(r.Context())
	err = h.opts.Users.Set(r.Context(), u.Email, auth.Change{Password: upd.Password, Info: upd.Info})
	if errors.Is(err, auth.ErrNoUser) {
		err = auth.ErrUnauthorized // removed while the request ran
	}
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// issueToken serves POST /auth/token: a signed, expiring bearer token for
// the caller. Only basic auth may ask, so a token cannot renew itself.
func (h *Handler) issueToken(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(strings.ToLower(r.Header.Get("Authorization")), "basic ") {
		writeError(w, r, h.opts.Logger, &clientError{http.StatusForbidden, "a token is issued only for the user's password (basic auth), not a bearer token: a token cannot renew itself"})
		return
	}
	u, _ := auth.FromContext(r.Context())
	tok, exp, err := h.opts.Auth.IssueToken(r.Context(), u)
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		"status": "ok", "token": tok, "tokenType": "Bearer",
		"expires": exp.UTC().Format(time.RFC3339), "expiresIn": int64(time.Until(exp).Seconds()),
	})
}
