package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The second user of the erase test: not in testConfig's "admins".
const (
	nonAdminUser     = "bob@example.org"
	nonAdminPassword = "bob's own long password"
)

// TestBrowserErase drives the page's erase action in headless Chromium
// under apie-serve: an admin (testConfig's "admins") erases an event's
// body from its detail — a reason is required, a confirmation is asked
// and can be declined, all by keyboard — and then sees the body shown as
// erased and still verified in the browser (the chain checks with the
// tombstone), before and after a reload; a user who is not an admin is
// offered no Erase action. The CSP refuses nothing throughout.
func TestBrowserErase(t *testing.T) {
	chromium := requireChromium(t)
	b, o := binaries(t), webOwner(t)
	cfg := newServeDir(t, b, o)
	mustRun(t, o, filepath.Dir(cfg), nonAdminPassword+"\n", nil, b.Serve, "-config", cfg, "user", "add", nonAdminUser, "Bob, e2e")
	s := startServe(t, b, o, cfg)
	tg := newTarget("apie-serve", s.origin, "", testUser, testPassword, false)

	keep := appendVia(t, tg, `{"eventType":"person.added","body":{"email":"keep@example.org"}}`)
	victim := appendVia(t, tg, `{"eventType":"person.added","body":{"email":"forget-me@example.org"}}`)
	appendVia(t, tg, `{"eventType":"note.added","body":{"text":"after"}}`)

	p := newPage(t, chromium)
	p.watch(tg.origin)
	p.do(t, "open the page", chromedp.Navigate(tg.origin+"/ui/"), chromedp.WaitVisible(chromedp.CSS("#signin-user")))
	row := func(hash string) string { return fmt.Sprintf(`#events tr[data-hash="%s"]`, hash) }
	signIn := func(t *testing.T, user, password, admin string) {
		t.Helper()
		p.set(t, "signin-user", "")
		p.set(t, "signin-password", "")
		p.do(t, "sign in as "+user, chromedp.SendKeys(chromedp.CSS("#signin-user"), user),
			chromedp.SendKeys(chromedp.CSS("#signin-password"), password+kb.Enter), chromedp.WaitVisible(chromedp.CSS("#app")))
		p.wait(t, "GET /info's admin", fmt.Sprintf(`document.body.dataset.admin === %q`, admin))
		p.wait(t, "the events", fmt.Sprintf(`document.querySelector('%s td.verified')`, row(victim)))
	}
	openDetail := func(t *testing.T, hash string) {
		t.Helper()
		p.do(t, "open the detail", chromedp.Click(chromedp.CSS(row(hash)+" button")))
		p.wait(t, "the detail", fmt.Sprintf(`!document.getElementById("detail").hidden && document.activeElement.id === "detail" && document.querySelector('%s button').textContent === document.getElementById("detail-seq").textContent`, row(hash)))
	}
	visible := func(id string) string {
		return fmt.Sprintf(`(() => { const e = document.getElementById(%q); return e !== null && e.offsetParent !== null; })()`, id)
	}

	t.Run("an admin erases a body through the page, by keyboard", func(t *testing.T) {
		signIn(t, testUser, testPassword, "true")
		openDetail(t, victim)
		p.wait(t, "the Erase action", visible("erase-reason"))
		count := headCount(t, tg)

		p.do(t, "erase without a reason", chromedp.Focus(chromedp.CSS("#erase-reason")), chromedp.SendKeys(chromedp.CSS("#erase-reason"), kb.Enter))
		p.wait(t, "the reason asked for", `document.getElementById("erase-reason").getAttribute("aria-invalid") === "true" && document.getElementById("erase-error").textContent.includes("reason") && document.activeElement.id === "erase-reason"`)

		p.do(t, "give a reason", chromedp.SendKeys(chromedp.CSS("#erase-reason"), "GDPR request 12"+kb.Enter))
		p.wait(t, "the confirmation, Cancel focused", visible("erase-yes")+` && document.activeElement.id === "erase-no" && document.getElementById("erase-question").textContent.includes("for good")`)
		p.do(t, "decline with Escape", chromedp.KeyEvent(kb.Escape))
		p.wait(t, "the confirmation gone", `document.getElementById("erase-confirm").hidden && document.activeElement.id === "erase-reason"`)
		if n := headCount(t, tg); n != count {
			t.Fatalf("a declined erase appended: %d events, want %d", n, count)
		}

		p.do(t, "ask again", chromedp.SendKeys(chromedp.CSS("#erase-reason"), kb.Enter))
		p.wait(t, "the confirmation", visible("erase-yes"))
		p.do(t, "confirm with the keyboard", chromedp.Focus(chromedp.CSS("#erase-yes")), chromedp.KeyEvent(kb.Enter))
		p.wait(t, "the body shown erased", visible("detail-erased")+` && document.getElementById("detail-erased").textContent.includes("GDPR request 12") && document.getElementById("detail-body").textContent === "null"`)
		if mark := p.eval(t, `document.getElementById("detail-mark").textContent`); !strings.HasPrefix(mark, "✓ Verified in this browser") || !strings.Contains(mark, "erased") {
			t.Errorf("mark %q, want verified, saying the body was erased", mark)
		}
		if p.eval(t, `String(document.getElementById("erase").hidden)`) != "true" {
			t.Errorf("the Erase action is still offered for an erased body")
		}
		p.wait(t, "the row verified and marked erased", fmt.Sprintf(`document.querySelector('%[1]s td.verified') && document.querySelector('%[1]s td .erased')`, row(victim)))

		// The server holds the erasure: the body is gone, the tombstone is the head.
		var ev map[string]any
		if err := json.Unmarshal(tg.do(t, http.MethodGet, "/events/"+victim, nil).want(t, http.StatusOK).body, &ev); err != nil {
			t.Fatal(err)
		}
		if ev["body"] != nil || ev["bodySalt"] != nil {
			t.Fatalf("after the erase the server answers body %v, bodySalt %v", ev["body"], ev["bodySalt"])
		}
		head := strings.Trim(tg.do(t, http.MethodHead, "/events", nil).want(t, http.StatusOK).header.Get("X-Apie-Hash"), `"`)
		p.wait(t, "the tombstone on top, verified", fmt.Sprintf(`(() => { const r = document.querySelector('#events tbody tr:first-child'); return r?.dataset.hash === %q && r.dataset.type === "apie.erased" && r.querySelector("td.verified"); })()`, head))
		if got := p.eval(t, `String(document.querySelectorAll("#events tbody td.unverified").length)`); got != "0" {
			t.Errorf("%s rows unverified after the erase", got)
		}
	})

	t.Run("after a reload the erased event still verifies with its tombstone", func(t *testing.T) {
		p.do(t, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#app")))
		p.wait(t, "the rows", fmt.Sprintf(`document.querySelector('%s td.verified') && document.querySelector('%s td.verified')`, row(victim), row(keep)))
		if got := p.eval(t, `String(document.querySelectorAll("#events tbody td.unverified").length)`); got != "0" {
			t.Errorf("%s rows unverified after a reload", got)
		}
		p.wait(t, "admin known", `document.body.dataset.admin === "true"`)
		openDetail(t, victim)
		if got := p.eval(t, `document.getElementById("detail-erased").textContent`); !strings.Contains(got, "GDPR request 12") || !strings.Contains(got, testUser) {
			t.Errorf("erased note %q, want the reason and who erased", got)
		}
		if p.eval(t, `String(document.getElementById("erase").hidden)`) != "true" {
			t.Errorf("the Erase action is offered for an erased body")
		}
		p.do(t, "close", chromedp.Click(chromedp.CSS("#detail-close")))
	})

	t.Run("a user who is not an admin is offered no Erase action", func(t *testing.T) {
		p.do(t, "sign out", chromedp.Click(chromedp.CSS("#signout")), chromedp.WaitVisible(chromedp.CSS("#signin-user")))
		signIn(t, nonAdminUser, nonAdminPassword, "false")
		openDetail(t, keep)
		if got := p.eval(t, `String(document.getElementById("erase").hidden) + " " + String(document.getElementById("erase-reason").offsetParent === null)`); got != "true true" {
			t.Errorf("erase hidden, reason unreachable: %s; want true true", got)
		}
		if mark := p.eval(t, `document.getElementById("detail-mark").textContent`); !strings.HasPrefix(mark, "✓ Verified") {
			t.Errorf("mark %q", mark)
		}
	})

	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.problems {
		t.Errorf("%s", s)
	}
}
