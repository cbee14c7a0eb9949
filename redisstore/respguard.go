package redisstore

import (
	"context"
	"errors"
	"net"

	"github.com/redis/go-redis/v9"
)

// errReplyFraming is a reply that declares more than the store would ever
// read: a bulk string past the bound, an aggregate of too many elements or
// nested too deep, a line too long. The connection fails; go-redis drops
// it.
var errReplyFraming = errors.New("redisstore: Redis reply beyond the store's bounds")

// Bounds of what one reply may declare. The store's commands (PING, GET,
// GETRANGE, SET, HELLO at connect) answer a short line, a bulk string no
// longer than the value cap, or HELLO's small map.
const (
	maxReplyLine     = 64 << 10 // a simple string, error, number or header line
	maxReplyElements = 1024     // elements one aggregate declares
	maxReplyPending  = 4096     // elements declared and not yet read, all levels together
	maxReplyDepth    = 8        // nested aggregates
	maxReplyTotal    = 16384    // elements in one reply, all levels together
	replySlack       = 64 << 10 // bytes of one reply beyond its largest bulk string
)

// replyGuard is a go-redis hook that checks the framing of every reply
// before go-redis reads it. go-redis allocates whatever length a reply
// declares: a bulk string of 2^40 bytes ends the process (the runtime's
// out-of-memory error cannot be recovered, unlike the panic above 2^48
// that guarded catches), and so would nested aggregates declaring many
// elements, a reply of many small aggregates (go-redis builds the whole
// tree), a run of RESP3 attributes (go-redis reads each one by calling
// itself again, until the stack overflows), and a line without end. A hostile or
// broken server, or anyone on the path of a plain redis:// connection,
// can send them.
type replyGuard struct{ maxBulk int64 }

// DialHook wraps every new connection's reads in the framing check.
func (h replyGuard) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := next(ctx, network, addr)
		if err != nil || c == nil {
			return c, err
		}
		return &framedConn{Conn: c, f: respFraming{maxBulk: h.maxBulk}}, nil
	}
}

// ProcessHook changes nothing.
func (replyGuard) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

// ProcessPipelineHook changes nothing.
func (replyGuard) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// framedConn is a connection whose reads pass through respFraming: the
// bytes are not changed, and the first one beyond a bound fails the read,
// and every read after it.
type framedConn struct {
	net.Conn
	f respFraming
}

// Read reads from the connection and checks what it read.
func (c *framedConn) Read(p []byte) (int, error) {
	if c.f.err != nil {
		return 0, c.f.err
	}
	n, err := c.Conn.Read(p)
	if n > 0 {
		if ferr := c.f.feed(p[:n]); ferr != nil {
			_ = c.Conn.Close()
			return 0, ferr
		}
	}
	return n, err
}

// respFraming follows the framing of a stream of RESP2/RESP3 replies, one
// byte at a time, without allocating: header lines (the type byte, then a
// length, a count or a simple value, up to CRLF), bulk payloads skipped by
// their declared length, and a stack of the elements each open aggregate
// still awaits.
type respFraming struct {
	maxBulk int64
	err     error

	inLine  bool  // within a line (after its type byte)
	typ     byte  // the line's type byte
	lineLen int   // bytes of the line so far
	num     int64 // the length or count being read
	neg     bool  // the number is negative (only -1, null, is allowed)
	digits  int   // digits read
	badNum  bool  // a length or count that is not -1 or a decimal number
	skip    int64 // payload bytes (CRLF included) still to skip

	stack   [maxReplyDepth]int64 // elements each open aggregate awaits
	depth   int
	pending int64 // sum of the stack

	// The reply being read, all levels together: its elements and bytes.
	elements int64
	bytes    int64
}

func (f *respFraming) fail() error {
	f.err = errReplyFraming
	return f.err
}

// feed checks b, the next bytes of the stream.
func (f *respFraming) feed(b []byte) error {
	for i := 0; i < len(b); i++ {
		if f.skip > 0 {
			n := min(f.skip, int64(len(b)-i))
			f.skip -= n
			f.bytes += n
			if f.bytes > f.maxBulk+replySlack {
				return f.fail()
			}
			i += int(n) - 1
			if f.skip == 0 {
				f.element()
			}
			continue
		}
		f.bytes++
		if f.bytes > f.maxBulk+replySlack {
			return f.fail()
		}
		c := b[i]
		if !f.inLine {
			if c == '|' {
				// An attribute: the store never asks for one, and go-redis
				// reads a run of them by recursion.
				return f.fail()
			}
			f.elements++
			if f.elements > maxReplyTotal {
				return f.fail()
			}
			f.inLine, f.typ, f.lineLen, f.num, f.neg, f.digits, f.badNum = true, c, 0, 0, false, 0, false
			continue
		}
		f.lineLen++
		if f.lineLen > maxReplyLine {
			return f.fail()
		}
		if c == '\n' {
			f.inLine = false
			if err := f.endLine(); err != nil {
				return err
			}
			continue
		}
		if !lengthType(f.typ) || c == '\r' {
			continue
		}
		switch {
		case c == '-' && f.digits == 0 && !f.neg:
			f.neg = true
		case c >= '0' && c <= '9':
			if f.num > 1<<40 {
				f.badNum = true // far beyond any bound: stop counting
				continue
			}
			f.num = f.num*10 + int64(c-'0')
			f.digits++
		default:
			f.badNum = true // "?" (streamed), or garbage
		}
	}
	return nil
}

// lengthType reports whether a line of type t carries a length or count.
func lengthType(t byte) bool {
	switch t {
	case '$', '!', '=', '*', '~', '>', '%':
		return true
	}
	return false
}

// endLine acts on a complete header line.
func (f *respFraming) endLine() error {
	if !lengthType(f.typ) {
		f.element() // a simple string, error, integer, double, boolean, null or big number
		return nil
	}
	if f.badNum || f.digits == 0 || (f.neg && f.num != 1) {
		return f.fail()
	}
	if f.neg { // -1: null
		f.element()
		return nil
	}
	switch f.typ {
	case '$', '!', '=':
		if f.num > f.maxBulk {
			return f.fail()
		}
		f.skip = f.num + 2
		return nil
	}
	n := f.num
	if f.typ == '%' {
		n *= 2 // a map's keys and values
	}
	if n > maxReplyElements || f.pending+n > maxReplyPending {
		return f.fail()
	}
	if n == 0 {
		f.element()
		return nil
	}
	if f.depth == maxReplyDepth {
		return f.fail()
	}
	f.stack[f.depth] = n
	f.depth++
	f.pending += n
	return nil
}

// element records that one element is complete: it fills a slot of the
// innermost open aggregate, which, once full, is an element of its own.
// An element complete at the top is a whole reply: the next one starts
// its counts afresh.
func (f *respFraming) element() {
	for f.depth > 0 {
		f.stack[f.depth-1]--
		f.pending--
		if f.stack[f.depth-1] > 0 {
			return
		}
		f.depth--
	}
	f.elements, f.bytes = 0, 0
}
