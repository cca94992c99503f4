package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestBrowserStreamFilter drives the page's stream filter in headless
// Chromium under apie-serve: a stream shows only its events (read with
// stream=), "include sub-streams" adds the streams below it
// (recursive=true), events another client appends to that stream appear
// live (followed with stream=) while those of other streams do not, the append form's expected
// version is refused with the stream's current version when stale and
// taken when right, and clearing the filter shows the whole log again.
// The CSP refuses nothing throughout.
func TestBrowserStreamFilter(t *testing.T) {
	chromium := requireChromium(t)
	b, o := binaries(t), webOwner(t)
	s := startServe(t, b, o, newServeDir(t, b, o))
	tg := newTarget("apie-serve", s.origin, "", testUser, testPassword, false)

	one := appendVia(t, tg, `{"eventType":"order.placed","body":{"n":1},"stream":"/orders/1"}`)
	line := appendVia(t, tg, `{"eventType":"order.line","body":{"n":2},"stream":"/orders/1/lines"}`)
	two := appendVia(t, tg, `{"eventType":"order.placed","body":{"n":3},"stream":"/orders/2"}`)
	loose := appendVia(t, tg, `{"eventType":"note.added","body":{"n":4}}`)

	p := newPage(t, chromium)
	p.watch(tg.origin)
	p.do(t, "open the page", chromedp.Navigate(tg.origin+"/ui/"), chromedp.WaitVisible(chromedp.CSS("#signin-user")))
	p.do(t, "sign in", chromedp.SendKeys(chromedp.CSS("#signin-user"), testUser),
		chromedp.SendKeys(chromedp.CSS("#signin-password"), testPassword+kb.Enter), chromedp.WaitVisible(chromedp.CSS("#app")))
	rows := func(hashes ...string) string {
		return fmt.Sprintf(`(() => { const got = [...document.querySelectorAll("#events tbody tr")].map(r => r.dataset.hash); return JSON.stringify(got) === %q && document.querySelectorAll("#events tbody td.verified").length === got.length; })()`,
			`["`+strings.Join(hashes, `","`)+`"]`)
	}
	p.wait(t, "the whole log, newest first, followed live", rows(loose, two, line, one)+` && document.getElementById("live").dataset.mode === "live"`)

	t.Run("a stream shows only its events, live", func(t *testing.T) {
		p.set(t, "filter-stream", "/orders/1")
		p.do(t, "filter", chromedp.Click(chromedp.CSS("#filters button[type=submit]")))
		p.wait(t, "only /orders/1", rows(one)+` && document.getElementById("count").textContent === "(1)"`)
		p.wait(t, "followed live", `document.getElementById("live").dataset.mode === "live"`)
		other := appendVia(t, tg, `{"eventType":"order.placed","body":{"n":5},"stream":"/orders/2"}`)
		mine := appendVia(t, tg, `{"eventType":"order.paid","body":{"n":6},"stream":"/orders/1"}`)
		p.wait(t, "its new event, and not the other stream's", rows(mine, one))
		if got := p.eval(t, fmt.Sprintf(`String(document.querySelector('#events tr[data-hash="%s"]') !== null)`, other)); got != "false" {
			t.Errorf("an event of /orders/2 is shown under the /orders/1 filter")
		}

		p.do(t, "include sub-streams", chromedp.Click(chromedp.CSS("#filter-recursive")))
		p.wait(t, "/orders/1 and /orders/1/lines", rows(mine, line, one))
	})

	t.Run("the append form's expected version", func(t *testing.T) {
		p.set(t, "append-type", "order.shipped")
		p.set(t, "append-stream", "/orders/1")
		p.set(t, "append-version", "0")
		p.do(t, "append expecting a new stream", chromedp.Click(chromedp.CSS("#append-form button[type=submit]")))
		p.wait(t, "refused with the current version", `document.getElementById("append-error").textContent.includes("/orders/1 is at version 2") && document.getElementById("append-version").getAttribute("aria-invalid") === "true"`)
		p.set(t, "append-version", "2")
		p.do(t, "append expecting version 2", chromedp.Click(chromedp.CSS("#append-form button[type=submit]")))
		p.wait(t, "appended and shown on top", `document.querySelector('#events tbody tr:first-child')?.dataset.type === "order.shipped" && document.querySelector('#events tbody tr:first-child td.verified') && document.getElementById("append-version").value === "3" && document.getElementById("append-error").textContent === ""`)
	})

	t.Run("no stream: the whole log again", func(t *testing.T) {
		p.set(t, "filter-stream", "")
		p.do(t, "filter", chromedp.Click(chromedp.CSS("#filters button[type=submit]")))
		p.wait(t, "every event", `document.querySelectorAll("#events tbody tr").length === 7 && document.querySelectorAll("#events tbody td.verified").length === 7 && document.getElementById("live").dataset.mode === "live"`)
	})

	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pr := range p.problems {
		t.Errorf("%s", pr)
	}
}
