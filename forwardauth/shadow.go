package forwardauth

// shadowIndex finds, route by route in the file's order, the first
// earlier route that matches every request a route matches (Route.covers)
// without comparing every pair: the earlier routes' patterns are kept in
// a tree of segments, and a route walks only the branches a pattern
// covering it could take (its own literal, a wildcard, a multi
// wildcard), then compares the routes ending there on the route's host
// or on any host. A 10,000-route file once took 3 s (35 s under the race
// detector) comparing every pair.
//
// A route that is itself shadowed is not added: whatever it covers, the
// route covering it covers too, and comes first.
//
// The walk can still branch at every segment (a literal and a wildcard
// both filed), so the work of one file is bounded (maxShadowWork): a file
// built to make the walk exponential (every mix of literals and wildcards
// ten segments deep, then routes under them on other hosts and methods)
// took 20 s. Past the bound the report stops, saying so: it is a warning,
// and loading must stay fast.
type shadowIndex struct {
	routes   []Route
	root     shadowNode
	compared int // routes compared (Route.covers), for the test of its cost
	work     int // steps: nodes walked, lists looked up, routes compared
	budget   int // the most steps; 0 means maxShadowWork
}

// maxShadowWork bounds the steps of one file's report: far above what a
// file of MaxRoutes plain routes takes (a few per route), and well under
// a second.
const maxShadowWork = 4 << 20

// shadowNode is the point in the tree after some segments.
type shadowNode struct {
	lit   map[string]*shadowNode // next segment a literal ("/" for {$})
	wild  *shadowNode            // next segment a single wildcard
	ends  map[shadowKey][]int    // routes whose pattern ends here, in order
	multi map[shadowKey][]int    // routes whose multi wildcard is the next segment
}

// shadowKey files a route under its host ("" any) and each of its
// methods ("" any): a route covering another is on its host or any, and
// has every method it has, so it is filed under any one of them.
type shadowKey struct{ host, method string }

// shadowedBy returns the index of the first earlier route covering
// routes[i], or -1, and adds routes[i] to the index when there is none.
// Routes must be given in order, each once. ok is false once the work
// bound is reached: the answer is then unknown, for this route and every
// route after it.
func (x *shadowIndex) shadowedBy(i int) (j int, ok bool) {
	if x.budget == 0 {
		x.budget = maxShadowWork
	}
	if x.work > x.budget {
		return -1, false
	}
	o := &x.routes[i]
	j = x.root.first(x, o, 0, -1)
	if x.work > x.budget {
		return -1, false
	}
	if j >= 0 {
		return j, true
	}
	n := &x.root
	for _, s := range o.pattern.segs {
		switch {
		case s.multi:
			n.multi = fileRoute(n.multi, o, i)
			return -1, true
		case s.wild:
			if n.wild == nil {
				n.wild = &shadowNode{}
			}
			n = n.wild
		default:
			if n.lit == nil {
				n.lit = map[string]*shadowNode{}
			}
			c := n.lit[s.s]
			if c == nil {
				c = &shadowNode{}
				n.lit[s.s] = c
			}
			n = c
		}
	}
	n.ends = fileRoute(n.ends, o, i)
	return -1, true
}

// fileRoute adds route i (o) to m under its host and each of its methods.
func fileRoute(m map[shadowKey][]int, o *Route, i int) map[shadowKey][]int {
	if m == nil {
		m = map[shadowKey][]int{}
	}
	if len(o.methods) == 0 {
		k := shadowKey{o.host, ""}
		m[k] = append(m[k], i)
	}
	for _, method := range o.methods {
		k := shadowKey{o.host, method}
		m[k] = append(m[k], i)
	}
	return m
}

// first returns the least index below best of a route under n covering
// o, whose first k segments brought the walk to n; best if none. The
// branches follow pattern.covers: a multi wildcard covers any further
// segments, a wildcard any segment but {$} and a wildcard, a literal the
// same literal; only a multi wildcard covers one.
func (n *shadowNode) first(x *shadowIndex, o *Route, k int, best int) int {
	x.work++
	if x.work > x.budget {
		return best
	}
	segs := o.pattern.segs
	if k == len(segs) {
		return firstCovering(x, n.ends, o, best)
	}
	best = firstCovering(x, n.multi, o, best)
	s := segs[k]
	if s.multi {
		return best
	}
	if n.wild != nil && (s.wild || s.s != "/") {
		best = n.wild.first(x, o, k+1, best)
	}
	if !s.wild {
		if c := n.lit[s.s]; c != nil {
			best = c.first(x, o, k+1, best)
		}
	}
	return best
}

// firstCovering returns the least index below best, among the routes
// filed in m that could cover o, of one covering o; best if none: those
// for any host and o's, for any method and, when o lists methods, for the
// one of them with the fewest routes filed.
func firstCovering(x *shadowIndex, m map[shadowKey][]int, o *Route, best int) int {
	if m == nil {
		return best
	}
	best = firstOnHost(x, m, "", o, best)
	if o.host != "" {
		best = firstOnHost(x, m, o.host, o, best)
	}
	return best
}

// firstOnHost is firstCovering for the routes filed under host.
func firstOnHost(x *shadowIndex, m map[shadowKey][]int, host string, o *Route, best int) int {
	best = firstIn(x, m[shadowKey{host, ""}], o, best)
	var fewest []int
	for i, method := range o.methods {
		if l := m[shadowKey{host, method}]; i == 0 || len(l) < len(fewest) {
			fewest = l
		}
	}
	x.work += 1 + len(o.methods)
	return firstIn(x, fewest, o, best)
}

func firstIn(x *shadowIndex, list []int, o *Route, best int) int {
	for _, j := range list { // ascending
		if best >= 0 && j >= best {
			break
		}
		if x.work > x.budget {
			break
		}
		x.compared++
		x.work++
		if x.routes[j].covers(o) {
			return j
		}
	}
	return best
}
