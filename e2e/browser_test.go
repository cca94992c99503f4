package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"apie/internal/testutil"
)

// requireChromium returns the path of Debian's chromium, skipping the
// test without it (failing it when APIE_REQUIRE_CHROMIUM=1).
func requireChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	testutil.SkipOrFail(t, "APIE_REQUIRE_CHROMIUM", "chromium is not installed; apt-get install chromium")
	return ""
}

// TestBrowserPage drives the web page at /ui/ in headless Chromium, under
// apie-serve and under Apache CGI: sign in, append through the form and
// see it appear, see an event appended by another client appear without a
// reload, upload a file and download it back byte-identical, the verified
// mark on a good chain and its absence on a tampered answer. Set
// APIE_SCREENSHOTS to a directory to write the page's screenshots there
// (desktop and phone width, from the apie-serve run).
func TestBrowserPage(t *testing.T) {
	chromium := requireChromium(t)
	b, o := binaries(t), webOwner(t)
	t.Run("apie-serve", func(t *testing.T) {
		s := startServe(t, b, o, newServeDir(t, b, o))
		runPage(t, chromium, newTarget("apie-serve", s.origin, "", testUser, testPassword, false), os.Getenv("APIE_SCREENSHOTS"))
	})
	t.Run("apache-cgi", func(t *testing.T) {
		requireApache(t)
		docRoot := tempDir(t)
		st := installSite(t, b, o, docRoot, "apie", testConfig, true)
		a := startApache(t, apacheModes[0], o, docRoot)
		runPage(t, chromium, newTarget("apache-cgi", a.URL(), st.urlPath, testUser, testPassword, true), "")
	})
}

// page is a Chromium tab on the page, with what the tab reported.
type page struct {
	ctx      context.Context
	mu       sync.Mutex
	problems []string // CSP refusals, uncaught exceptions, requests leaving the origin
}

func newPage(t *testing.T, chromium string) *page {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(func() { cancelT(); cancel(); cancelA() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return &page{ctx: ctx}
}

func (p *page) problem(s string) {
	p.mu.Lock()
	p.problems = append(p.problems, s)
	p.mu.Unlock()
}

// watch records what must not happen: a request to another origin, a
// script error, a refusal by the Content-Security-Policy.
func (p *page) watch(origin string) {
	reqs := chromedp.Events(p.ctx, network.RequestWillBeSent)
	exceptions := chromedp.Events(p.ctx, runtime.ExceptionThrown)
	console := chromedp.Events(p.ctx, runtime.ConsoleAPICalled)
	go func() {
		for ev, err := range reqs {
			if err != nil {
				return
			}
			u := ev.Request.URL
			if !strings.HasPrefix(u, origin+"/") && !strings.HasPrefix(u, "blob:") && !strings.HasPrefix(u, "data:") {
				p.problem("a request leaves the origin: " + u)
			}
		}
	}()
	go func() {
		for ev, err := range exceptions {
			if err != nil {
				return
			}
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			p.problem("uncaught exception: " + msg)
		}
	}()
	go func() {
		for ev, err := range console {
			if err != nil {
				return
			}
			for _, a := range ev.Args {
				if s := string(a.Value); strings.Contains(s, "Content Security Policy") {
					p.problem("CSP: " + s)
				}
			}
		}
	}()
}

func (p *page) do(t *testing.T, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(p.ctx, steps...); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, p.state())
	}
}

// wait waits until the JavaScript expression is truthy.
func (p *page) wait(t *testing.T, what, expr string) {
	t.Helper()
	if _, err := chromedp.Run(p.ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(60*time.Second))); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, p.state())
	}
}

// set gives a form field a value, as typing would (an input event).
func (p *page) set(t *testing.T, id, value string) {
	t.Helper()
	p.eval(t, fmt.Sprintf(`(() => { const e = document.getElementById(%q); e.value = %q; e.dispatchEvent(new Event("input", {bubbles: true})); return ""; })()`, id, value))
}

func (p *page) eval(t *testing.T, expr string) string {
	t.Helper()
	s, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return s
}

// state is what the page shows, for a failure's message.
func (p *page) state() string {
	s, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string](`"status: " + document.getElementById("status")?.textContent + "\nalert: " + document.getElementById("alert")?.textContent + "\nappend error: " + document.getElementById("append-error")?.textContent + "\nrows: " + [...document.querySelectorAll("#events tbody tr")].map(r => r.innerText.replace(/\s+/g, " ")).join(" | ")`))
	return s
}

func runPage(t *testing.T, chromium string, tg *target, shots string) {
	p := newPage(t, chromium)
	p.watch(tg.origin)
	pageURL := tg.origin + tg.base + "/ui/"
	downloads := t.TempDir()
	if _, err := chromedp.Call(p.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads}); err != nil {
		t.Fatalf("set download behaviour: %v", err)
	}
	// An event from before the page is opened: the history the page walks back.
	first := appendVia(t, tg, `{"eventType":"todo.added","body":{"title":"milk"}}`)

	p.do(t, "open the page", chromedp.Navigate(pageURL), chromedp.WaitVisible(chromedp.CSS("#signin-user")))

	t.Run("a wrong password is refused, the right one signs in with the keyboard", func(t *testing.T) {
		p.do(t, "sign in wrongly", chromedp.SendKeys(chromedp.CSS("#signin-user"), testUser),
			chromedp.SendKeys(chromedp.CSS("#signin-password"), "wrong"+kb.Enter))
		p.wait(t, "the refusal", `document.getElementById("alert").textContent.includes("Wrong user or password")`)
		p.set(t, "signin-password", "")
		p.do(t, "sign in", chromedp.SendKeys(chromedp.CSS("#signin-password"), testPassword+kb.Enter),
			chromedp.WaitVisible(chromedp.CSS("#app")))
		stored := p.eval(t, `JSON.stringify(sessionStorage)`)
		if !strings.Contains(stored, `\"token\"`) || strings.Contains(stored, testPassword) {
			t.Errorf("sessionStorage: %s; want a token and never the password", stored)
		}
		p.wait(t, "the event from before", fmt.Sprintf(`document.querySelector('#events tr[data-hash="%s"] td.verified')`, first))
	})

	t.Run("append through the form, with JSON errors shown", func(t *testing.T) {
		p.set(t, "append-body", "")
		p.do(t, "a bad body", chromedp.SendKeys(chromedp.CSS("#append-type"), "note.added"),
			chromedp.SendKeys(chromedp.CSS("#append-body"), `{"text": oops}`))
		p.wait(t, "the JSON error", `document.getElementById("append-body").getAttribute("aria-invalid") === "true" && document.getElementById("append-error").textContent.startsWith("Not valid JSON")`)
		p.do(t, "submit it", chromedp.Click(chromedp.CSS("#append-form button[type=submit]")))
		p.set(t, "append-body", "")
		p.do(t, "a big integer", chromedp.SendKeys(chromedp.CSS("#append-body"), `{"n": 9007199254740993}`))
		p.wait(t, "the number error", `document.getElementById("append-error").textContent.includes("cannot be kept exactly")`)
		if n := headCount(t, tg); n != 1 {
			t.Fatalf("a refused form appended: %d events, want 1", n)
		}
		p.set(t, "append-body", "")
		p.do(t, "a good body", chromedp.SendKeys(chromedp.CSS("#append-body"), `{"text": "hello from the form", "n": [1, 2.5]}`),
			chromedp.Click(chromedp.CSS("#append-form button[type=submit]")))
		p.wait(t, "the appended event in the table", `document.querySelector('#events tbody tr:first-child')?.dataset.type === "note.added" && document.querySelector('#events tbody tr:first-child td.verified')`)
		if got := p.eval(t, `document.getElementById("append-error").textContent`); got != "" {
			t.Errorf("an error left after a good append: %q", got)
		}
	})

	t.Run("an event appended elsewhere appears without a reload", func(t *testing.T) {
		p.eval(t, `window.sameDocument = "yes"; ""`)
		p.wait(t, "the log followed live", `document.getElementById("live").dataset.mode === "live"`)
		h := appendVia(t, tg, `{"eventType":"from.curl","body":{"who":"curl"}}`)
		p.wait(t, "the other client's event", fmt.Sprintf(`document.querySelector('#events tbody tr:first-child')?.dataset.hash === "%s" && document.querySelector('#events tbody tr:first-child td.verified')`, h))
		if p.eval(t, `window.sameDocument`) != "yes" {
			t.Errorf("the page was reloaded")
		}
		p.do(t, "filter by type", chromedp.SendKeys(chromedp.CSS("#filter-type"), "from.curl"))
		p.wait(t, "the other rows hidden", `[...document.querySelectorAll("#events tbody tr")].every(r => r.hidden === (r.dataset.type !== "from.curl"))`)
		p.set(t, "filter-type", "")
		p.wait(t, "every row back", `[...document.querySelectorAll("#events tbody tr")].every(r => !r.hidden)`)
	})

	t.Run("an event's detail is verified in this browser", func(t *testing.T) {
		p.do(t, "open the detail", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#events tr[data-hash="%s"] button`, first))))
		p.wait(t, "the detail", `!document.getElementById("detail").hidden && document.activeElement.id === "detail"`)
		mark := p.eval(t, `document.getElementById("detail-mark").textContent`)
		if !strings.HasPrefix(mark, "✓ Verified in this browser") {
			t.Errorf("mark %q, want it verified", mark)
		}
		if body := p.eval(t, `document.getElementById("detail-body").textContent`); !strings.Contains(body, `"title": "milk"`) {
			t.Errorf("detail body %q", body)
		}
		p.do(t, "close it", chromedp.Click(chromedp.CSS("#detail-close")))
	})

	t.Run("upload a file with progress, download it back byte-identical, preview it", func(t *testing.T) {
		img := pngFile(t)
		want, _ := os.ReadFile(img)
		p.do(t, "choose the file", chromedp.SetUploadFiles(chromedp.CSS("#blob-file"), []string{img}))
		sum := sha256.Sum256(want)
		hash := hex.EncodeToString(sum[:])
		p.wait(t, "the upload listed", fmt.Sprintf(`document.querySelector('#uploads li[data-hash="%s"]')`, hash))
		if got := p.eval(t, `(() => { const b = document.getElementById("upload-progress"); return b.value + "/" + b.max; })()`); got != fmt.Sprintf("%d/%d", len(want), len(want)) {
			t.Errorf("progress %s, want %d/%d", got, len(want), len(want))
		}
		got := fetchBlob(t, tg, hash)
		if !bytes.Equal(got, want) {
			t.Fatalf("the server holds %d bytes, not the %d uploaded", len(got), len(want))
		}
		p.do(t, "download", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#uploads li[data-hash="%s"] button.download`, hash))))
		path := filepath.Join(downloads, filepath.Base(img))
		deadline := time.Now().Add(60 * time.Second)
		for {
			b, err := os.ReadFile(path)
			if err == nil && bytes.Equal(b, want) {
				break
			}
			if time.Now().After(deadline) {
				entries, _ := os.ReadDir(downloads)
				t.Fatalf("no download of %s byte-identical to the upload (%v, %d bytes); the directory holds %v\n%s", path, err, len(b), entries, p.state())
			}
			time.Sleep(100 * time.Millisecond)
		}
		p.do(t, "preview", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#uploads li[data-hash="%s"] button.preview`, hash))))
		p.wait(t, "the image shown", `(() => { const i = document.getElementById("preview-img"); return i.complete && i.naturalWidth === 32 && i.src.startsWith("blob:"); })()`)
	})

	if shots != "" {
		screenshots(t, p, shots)
	}

	t.Run("a tampered answer loses the mark", func(t *testing.T) {
		stop := tamper(t, p, first)
		defer stop()
		p.do(t, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#app")))
		p.wait(t, "the tampered event unverified", fmt.Sprintf(`document.querySelector('#events tr[data-hash="%s"] td.unverified')`, first))
		if got := p.eval(t, `String(document.querySelectorAll("#events tbody td.verified").length)`); got != "2" {
			t.Errorf("%s rows still verified, want the 2 newer ones", got)
		}
		p.do(t, "open the detail", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#events tr[data-hash="%s"] button`, first))))
		p.wait(t, "the detail", `!document.getElementById("detail").hidden`)
		if mark := p.eval(t, `document.getElementById("detail-mark").textContent`); !strings.HasPrefix(mark, "✗ Not verified") || !strings.Contains(mark, "bodyHash") {
			t.Errorf("mark %q, want not verified, naming the body", mark)
		}
	})

	t.Run("sign out forgets the token", func(t *testing.T) {
		p.do(t, "sign out", chromedp.Click(chromedp.CSS("#signout")), chromedp.WaitVisible(chromedp.CSS("#signin-user")))
		if s := p.eval(t, `JSON.stringify(sessionStorage)`); strings.Contains(s, "token") {
			t.Errorf("sessionStorage after sign-out: %s", s)
		}
	})

	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.problems {
		t.Errorf("%s", s)
	}
}

// tamper makes the browser see a changed body in the answer to GET
// /events/<hash>, as a hostile proxy or a damaged server would send.
func tamper(t *testing.T, p *page, hash string) (stop func()) {
	ctx, cancel := context.WithCancel(p.ctx)
	paused := chromedp.Events(ctx, fetch.RequestPaused)
	if _, err := chromedp.Call(p.ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{
		{URLPattern: "*/events/" + hash, RequestStage: fetch.RequestStageResponse}}}); err != nil {
		t.Fatalf("intercept: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev, err := range paused {
			if err != nil {
				return
			}
			body, err := chromedp.Call(ctx, fetch.GetResponseBody, fetch.GetResponseBodyParams{RequestID: ev.RequestID})
			if err != nil {
				p.problem("tamper: " + err.Error())
				continue
			}
			changed := bytes.Replace(body.Body, []byte(`"milk"`), []byte(`"milk, and honey"`), 1)
			if bytes.Equal(changed, body.Body) {
				p.problem("tamper: the answer holds no milk: " + string(body.Body))
			}
			var hdrs []*fetch.HeaderEntry
			for _, h := range ev.ResponseHeaders {
				if !strings.EqualFold(h.Name, "Content-Length") {
					hdrs = append(hdrs, h)
				}
			}
			if _, err := chromedp.Call(ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{
				RequestID: ev.RequestID, ResponseCode: ev.ResponseStatusCode, ResponseHeaders: hdrs, Body: changed}); err != nil {
				p.problem("tamper: " + err.Error())
			}
		}
	}()
	return func() {
		chromedp.Call(p.ctx, fetch.Disable, struct{}{})
		cancel()
		<-done
	}
}

// screenshots writes the page at desktop and phone width into dir.
func screenshots(t *testing.T, p *page, dir string) {
	t.Helper()
	for _, s := range []struct {
		name          string
		width, height int64
		mobile        bool
	}{{"ui-desktop.png", 1280, 900, false}, {"ui-phone.png", 390, 844, true}} {
		opts := []chromedp.EmulateViewportOption{}
		if s.mobile {
			opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateScale(2))
		}
		p.do(t, "viewport", chromedp.EmulateViewport(s.width, s.height, opts...), chromedp.Sleep(300*time.Millisecond))
		img, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		if err := os.WriteFile(filepath.Join(dir, s.name), img, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p.do(t, "viewport back", chromedp.EmulateReset())
}

// appendVia appends an event as another client would, and returns its hash.
func appendVia(t *testing.T, tg *target, body string) string {
	t.Helper()
	r := tg.do(t, http.MethodPost, "/events", []byte(body)).want(t, http.StatusCreated)
	return strings.Trim(r.header.Get("ETag"), `"`)
}

func headCount(t *testing.T, tg *target) int {
	t.Helper()
	var n int
	fmt.Sscan(tg.do(t, http.MethodHead, "/events", nil).want(t, http.StatusOK).header.Get("X-Apie-Count"), &n)
	return n
}

func fetchBlob(t *testing.T, tg *target, hash string) []byte {
	t.Helper()
	return tg.do(t, http.MethodGet, "/storage/"+hash, nil).want(t, http.StatusOK).body
}

// pngFile writes a 32x32 PNG image and returns its path.
func pngFile(t *testing.T) string {
	img := image.NewRGBA(image.Rect(0, 0, 32, 32))
	for x := range 32 {
		for y := range 32 {
			img.Set(x, y, color.RGBA{uint8(x * 8), uint8(y * 8), 160, 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "picture.png")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
