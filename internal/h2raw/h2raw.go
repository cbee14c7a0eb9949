// Package h2raw sends one HTTP/2 request over a fresh prior-knowledge
// (h2c) connection with exactly the header fields given, pseudo-headers
// included: an :authority Go's own client would refuse ("api/other?"),
// as an attacker's client sends it. For tests.
package h2raw

import (
	"bytes"
	"net"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Answer is what the server answered: the first HEADERS frame's fields
// (":status", "grpc-status" when the body is empty, "www-authenticate",
// …), the trailers' fields added, and whether the stream or connection
// was reset instead.
type Answer struct {
	Header map[string]string
	Reset  bool
}

// Status is the answer's :status, or "reset".
func (a Answer) Status() string {
	if a.Reset && a.Header[":status"] == "" {
		return "reset"
	}
	return a.Header[":status"]
}

// Do sends fields (":method", ":scheme", ":path" and ":authority" first,
// then any others, in order) and body on stream 1 of a new connection to
// addr, and reads until the stream ends, within 5 s.
func Do(t testing.TB, addr string, fields [][2]string, body []byte) Answer {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(c, c)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range fields {
		_ = enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndHeaders: true, EndStream: body == nil}); err != nil {
		t.Fatal(err)
	}
	if body != nil {
		if err := fr.WriteData(1, true, body); err != nil {
			t.Fatal(err)
		}
	}
	a := Answer{Header: map[string]string{}}
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			a.Reset = true
			return a
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				_ = fr.WriteSettingsAck()
			}
		case *http2.MetaHeadersFrame:
			for _, hf := range f.Fields {
				a.Header[hf.Name] = hf.Value
			}
			if f.StreamEnded() {
				return a
			}
		case *http2.DataFrame:
			if f.StreamEnded() {
				return a
			}
		case *http2.RSTStreamFrame, *http2.GoAwayFrame:
			a.Reset = true
			return a
		}
	}
}
