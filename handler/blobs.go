package handler

import (
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"apie/store"
	"apie/sum"
)

type blobJSON struct {
	Status      string `json:"status"`
	Hash        string `json:"hash"`
	URL         string `json:"url"`
	Size        int64  `json:"size"`
	ContentType string `json:"contentType"`
	Filename    string `json:"filename"`
}

// putBlob serves PUT/POST /storage/[name]: the body streams to disk while
// it is hashed. A 64-hex name is the expected hash, anything else a filename.
func (h *Handler) putBlob(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if len(name) > store.MaxFilenameBytes {
		writeError(w, r, h.opts.Logger, badRequest("filename is "+strconv.Itoa(len(name))+
			" bytes, over the limit of "+strconv.Itoa(store.MaxFilenameBytes)))
		return
	}
	if r.ContentLength > h.opts.BlobBytes && h.opts.BlobBytes > 0 {
		writeError(w, r, h.opts.Logger, &clientError{http.StatusRequestEntityTooLarge, "blob is larger than the configured limit"})
		return
	}
	meta := store.BlobInfo{ContentType: r.Header.Get("Content-Type")}
	var want *sum.Hash
	if hash, err := sum.Parse(name); err == nil && len(name) == 2*sum.Size {
		want = &hash
	} else {
		meta.Filename = name // the store validates it
	}
	blobs, err := h.blobStore(r.Context())
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	info, created, err := blobs.Put(r.Context(), r.Body, meta, want)
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		// Location only on 201: see appendEvents.
		w.Header().Set("Location", basePath(r)+"/storage/"+info.Hash.String())
	}
	w.Header().Set("ETag", `"`+info.Hash.String()+`"`)
	writeJSON(w, status, blobJSON{
		Status: "ok", Hash: info.Hash.String(), URL: h.blobURL(r, info.Hash), Size: info.Size,
		ContentType: info.ContentType, Filename: info.Filename,
	})
}

// blobURL is where a client fetches the blob: contentstore.url when set,
// else this server's own GET /storage/<hash>.
func (h *Handler) blobURL(r *http.Request, hash sum.Hash) string {
	if h.opts.BlobURL != "" {
		return strings.TrimSuffix(h.opts.BlobURL, "/") + "/" + hash.String()
	}
	return basePath(r) + "/storage/" + hash.String()
}

// getBlob serves GET/HEAD /storage/{hash} through http.ServeContent, which
// brings Range, conditional requests and HEAD.
func (h *Handler) getBlob(w http.ResponseWriter, r *http.Request) {
	hash, err := sum.Parse(r.PathValue("hash"))
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	blobs, err := h.blobStore(r.Context())
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	f, info, err := blobs.Open(r.Context(), hash)
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	defer f.Close()
	hd := w.Header()
	hd.Set("ETag", `"`+hash.String()+`"`)
	hd.Set("Cache-Control", "private, max-age=31536000, immutable")
	hd.Set("Content-Type", info.ContentType)
	hd.Set("X-Content-Type-Options", "nosniff")
	// Stored bytes are the users' own: never let them run as a page of
	// this origin.
	hd.Set("Content-Security-Policy", "sandbox")
	if info.Filename != "" {
		if cd := mime.FormatMediaType("inline", map[string]string{"filename": info.Filename}); cd != "" {
			hd.Set("Content-Disposition", cd)
		}
	}
	if emptySuffixRange(r.Header.Get("Range")) {
		hd.Set("Content-Range", "bytes */"+uitoa(uint64(info.Size)))
		writeJSON(w, http.StatusRequestedRangeNotSatisfiable, errorBody("Range asks for no bytes"))
		return
	}
	http.ServeContent(&jsonErrors{ResponseWriter: w}, r, "", info.Created, f)
}

// emptySuffixRange reports whether a Range header holds a suffix range of
// length zero ("bytes=-0"), which net/http answers with an empty 206
// instead of a 416.
func emptySuffixRange(v string) bool {
	spec, ok := strings.CutPrefix(strings.TrimSpace(v), "bytes=")
	if !ok {
		return false
	}
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		// net/http trims the spaces around a suffix's digits ("- 0").
		if digits, ok := strings.CutPrefix(part, "-"); ok && strings.TrimSpace(digits) != "" && strings.Trim(strings.TrimSpace(digits), "0") == "" {
			return true
		}
	}
	return false
}

// jsonErrors turns the plain-text errors of http.ServeContent (416, 500)
// into apie's JSON errors, keeping its headers (Content-Range).
type jsonErrors struct {
	http.ResponseWriter
	failed bool
}

func (j *jsonErrors) WriteHeader(code int) {
	if code < 400 {
		j.ResponseWriter.WriteHeader(code)
		return
	}
	j.failed = true
	msg := "could not serve the blob"
	if code == http.StatusRequestedRangeNotSatisfiable {
		msg = "Range is not satisfiable for this blob"
	}
	for _, k := range []string{"Content-Disposition", "Content-Security-Policy", "Cache-Control", "ETag"} {
		j.Header().Del(k)
	}
	writeJSON(j.ResponseWriter, code, errorBody(msg))
}

func (j *jsonErrors) Write(b []byte) (int, error) {
	if j.failed {
		return len(b), nil // the JSON error is already written
	}
	return j.ResponseWriter.Write(b)
}

// ReadFrom keeps sendfile for the bytes.
func (j *jsonErrors) ReadFrom(src io.Reader) (int64, error) {
	if rf, ok := j.ResponseWriter.(io.ReaderFrom); ok && !j.failed {
		return rf.ReadFrom(src)
	}
	return io.Copy(struct{ io.Writer }{j}, src)
}

func (j *jsonErrors) Unwrap() http.ResponseWriter { return j.ResponseWriter }

// deleteBlob serves DELETE /storage/{hash}.
func (h *Handler) deleteBlob(w http.ResponseWriter, r *http.Request) {
	hash, err := sum.Parse(r.PathValue("hash"))
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	blobs, err := h.blobStore(r.Context())
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	if err := blobs.Delete(r.Context(), hash); err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// verifyBlobs serves POST /storage/verify.
func (h *Handler) verifyBlobs(w http.ResponseWriter, r *http.Request) {
	blobs, err := h.blobStore(r.Context())
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	rep, err := blobs.Verify(r.Context(), true)
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	if len(rep.Bad) > 0 {
		bad := make([]map[string]string, len(rep.Bad))
		for i, b := range rep.Bad {
			bad[i] = map[string]string{"hash": b.Hash, "reason": b.Reason}
			h.opts.Logger.Error("blob verify found damage", "hash", b.Hash, "path", b.Path, "reason", b.Reason)
		}
		writeJSON(w, http.StatusInternalServerError, map[string]any{
			"status": "error", "errorMessage": uitoa(uint64(len(rep.Bad))) + " blob(s) failed verification",
			"blobs": rep.Blobs, "bytes": rep.Bytes, "bad": bad,
		})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "blobs": rep.Blobs, "bytes": rep.Bytes})
}
