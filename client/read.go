package client

import (
	"bytes"
	"context"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// ReadParams choose a slice of the log. Hashes that are not in the log
// make the read fail with a 404 *Error; malformed ones with a 400.
type ReadParams struct {
	From  string // start at this event (inclusive)
	After string // start after this event; not with From
	To    string // end at this event (inclusive)
	// Limit is the most events a page holds; 0 sends the whole slice as
	// one page. A page is held in memory whole, so Limit bounds the
	// memory a read takes.
	Limit int
}

// query is p as GET /events's query string, with its leading "?" ("" for
// none).
func (p ReadParams) query() string {
	q := url.Values{}
	for k, v := range map[string]string{"from": p.From, "after": p.After, "to": p.To} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// Page is one answer to a read.
type Page struct {
	Events []Event // oldest first
	// Next is the URL of the next page (the answer's Link rel="next"), ""
	// on the last page. Reading stops there: a later read from Next
	// continues where this one stopped.
	Next string
}

// Read returns the pages of the log slice p chooses, oldest first,
// following each answer's Link rel="next" until there is none. Each page
// is fetched as NDJSON and retried as Append is; an error ends the
// iteration after it is yielded. The read ends at To's event even where
// the server's next link does not say to. Events appended while the read goes on
// are in its later pages.
//
//	for page, err := range c.Read(ctx, client.ReadParams{Limit: 1000}) {
//		if err != nil {
//			return err
//		}
//		…page.Events…
//	}
func (c *Client) Read(ctx context.Context, p ReadParams) iter.Seq2[Page, error] {
	return func(yield func(Page, error) bool) {
		ref := "/events" + p.query()
		for ref != "" {
			page, err := c.page(ctx, ref)
			if err == nil && p.To != "" {
				page = page.endAt(p.To)
			}
			if !yield(page, err) || err != nil {
				return
			}
			ref = page.Next
		}
	}
}

// ReadAll returns every event of the slice p chooses, reading it page by
// page.
func (c *Client) ReadAll(ctx context.Context, p ReadParams) ([]Event, error) {
	var evs []Event
	for page, err := range c.Read(ctx, p) {
		if err != nil {
			return nil, err
		}
		evs = append(evs, page.Events...)
	}
	return evs, nil
}

// endAt cuts p after the event whose hash is to, if it holds it, and
// makes it the last page: a next page's link need not carry to.
func (p Page) endAt(to string) Page {
	for i, e := range p.Events {
		if e.Hash == strings.Trim(to, `"`) {
			return Page{Events: p.Events[:i+1]}
		}
	}
	return p
}

// page fetches one page of events from ref.
func (c *Client) page(ctx context.Context, ref string) (Page, error) {
	h := http.Header{"Accept": {"application/x-ndjson"}}
	a, err := c.send(ctx, request{method: http.MethodGet, ref: ref, header: h, retry: true})
	if err != nil {
		return Page{}, err
	}
	var page Page
	for line := range bytes.Lines(a.body) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		e, err := decodeEvent(line)
		if err != nil {
			return Page{}, fmt.Errorf("apie client: GET %s: line %d: %w", ref, len(page.Events)+1, err)
		}
		page.Events = append(page.Events, e)
	}
	if next := linkNext(a.header); next != "" {
		u, err := a.url.Parse(next)
		if err != nil {
			return Page{}, fmt.Errorf("apie client: GET %s: Link %q: %w", ref, next, err)
		}
		page.Next = u.String()
	}
	return page, nil
}

// linkNext returns the target of the Link header's rel="next", or "".
func linkNext(h http.Header) string {
	for _, v := range h.Values("Link") {
		for link := range strings.SplitSeq(v, ",") {
			target, params, ok := strings.Cut(strings.TrimSpace(link), ";")
			if !ok || !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
				continue
			}
			for param := range strings.SplitSeq(params, ";") {
				k, v, _ := strings.Cut(strings.TrimSpace(param), "=")
				if strings.EqualFold(k, "rel") && strings.Trim(v, `"`) == "next" {
					return target[1 : len(target)-1]
				}
			}
		}
	}
	return ""
}
