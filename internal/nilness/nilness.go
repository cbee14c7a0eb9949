// Package nilness tells whether a value given as an interface is nil,
// including a nil pointer (or map, slice, func, channel) inside a non-nil
// interface: the value a constructor returns with its error, passed on by
// a caller that dropped the error. Such a value compares unequal to nil,
// and a check of x == nil lets it through to panic on the first request.
package nilness

import "reflect"

// IsNil reports whether x is nil or holds a nil pointer, map, slice,
// function, channel or interface.
func IsNil(x any) bool {
	if x == nil {
		return true
	}
	switch v := reflect.ValueOf(x); v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan, reflect.Interface, reflect.UnsafePointer:
		return v.IsNil()
	}
	return false
}
