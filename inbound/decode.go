package inbound

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// Problem kinds of Decode, besides CheckJSON's.
const (
	KindType    = "type"          // a value of the wrong JSON type for its field
	KindUnknown = "unknown_field" // a key the target has no field for
	KindValue   = "value"         // a field's own decoder refused the value
)

// Decode reads one JSON value from data into v (a pointer), as
// encoding/json does, after CheckJSON. Every failure is a *Problem naming
// where: a type error has the value's JSON path with indices
// (declarations[1].customs), Want (what the field takes: "string",
// "integer", "number", "boolean", "object", "array") and Got (what was
// sent, encoding/json's "number 1.5", "string"); with strict, a key that v
// has no field for (matched as encoding/json matches, ignoring case) is
// KindUnknown at its path. An error returned by a field's own
// UnmarshalJSON is KindValue with Err set and no path.
func Decode(data []byte, v any, strict bool) *Problem {
	if p := CheckJSON(data); p != nil {
		return p
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if strict {
		dec.DisallowUnknownFields()
	}
	err := dec.Decode(v)
	if err == nil {
		return nil
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok && strict {
		// encoding/json names the key without its place; the walk finds
		// its path (only now, so that good requests are read once).
		var tree any
		td := json.NewDecoder(bytes.NewReader(data))
		td.UseNumber()
		key, _ := strconv.Unquote(name)
		path, found := key, false
		if td.Decode(&tree) == nil {
			// The first unknown key of that name (encoding/json names the
			// key, not its place); else the first unknown key at all.
			unknown(tree, reflect.TypeOf(v), "", func(p, k string) bool {
				if !found {
					path, found = p, true
				}
				if k == key {
					path = p
					return true
				}
				return false
			})
		}
		what := path
		if what == "" {
			what = `""` // a key that is the empty string, at the top
		}
		return &Problem{Kind: KindUnknown, Offset: -1, Path: path, Message: "unknown field " + what}
	}
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		var path string
		if te.Offset > 0 {
			path = PathAt(data, te.Offset-1)
		} else {
			// A field's own decoder's type error has no offset, and its
			// Field has no indices: find which occurrence fails.
			path = locate(data, reflect.TypeOf(v), te.Field)
		}
		want := wantOf(te.Type)
		what := path
		if what == "" {
			what = "the body"
		}
		return &Problem{Kind: KindType, Offset: te.Offset, Path: path, Want: want, Got: te.Value, GoType: te.Type.String(),
			Message: what + " must be " + article(want) + ", not " + gotText(te.Value)}
	case errors.As(err, &se):
		// CheckJSON found none; kept for safety.
		return &Problem{Kind: KindSyntax, Offset: se.Offset, Path: PathAt(data, se.Offset), Message: "invalid JSON at byte " + strconv.FormatInt(se.Offset, 10)}
	}
	return &Problem{Kind: KindValue, Offset: -1, Err: err, Message: err.Error()}
}

// wantOf names the JSON type a Go type takes.
func wantOf(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Struct, reflect.Map:
		return "object"
	case reflect.Slice, reflect.Array:
		return "array"
	}
	return "value of another type"
}

func article(want string) string {
	switch want {
	case "integer", "object", "array":
		return "an " + want
	}
	return "a " + want
}

// Describe turns encoding/json's description of a value (Problem.Got:
// "number 1.5", "string", "array") into words: "the number 1.5", "a
// string", "an array".
func Describe(got string) string { return gotText(got) }

func gotText(v string) string {
	if v == "" {
		return "what was sent"
	}
	if n, ok := strings.CutPrefix(v, "number "); ok {
		if len(n) > 40 {
			n = n[:40] + "…"
		}
		return "the number " + n
	}
	switch v {
	case "string", "array", "object", "number":
		return article(v)
	case "bool":
		return "a boolean"
	}
	return v
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
var textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()

// unknown calls visit with the path and the key of each key of tree that
// t has no field for, in sorted order at each level, until visit returns
// true; it reports whether visit did.
func unknown(tree any, t reflect.Type, path string, visit func(path, key string) bool) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) || t.Implements(unmarshalerType) ||
		reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return false // the type reads its value its own way
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := tree.(map[string]any)
		if !ok {
			return false
		}
		fields := structFields(t)
		for _, k := range sortedKeys(obj) {
			child := k
			if path != "" {
				child = path + "." + k
			}
			ft, ok := fields[k]
			if !ok {
				for name, typ := range fields {
					if strings.EqualFold(name, k) {
						ft, ok = typ, true
						break
					}
				}
			}
			if !ok {
				if visit(child, k) {
					return true
				}
				continue
			}
			if unknown(obj[k], ft, child, visit) {
				return true
			}
		}
	case reflect.Slice, reflect.Array:
		arr, ok := tree.([]any)
		if !ok {
			return false
		}
		for i, e := range arr {
			if unknown(e, t.Elem(), path+"["+strconv.Itoa(i)+"]", visit) {
				return true
			}
		}
	case reflect.Map:
		obj, ok := tree.(map[string]any)
		if !ok {
			return false
		}
		for _, k := range sortedKeys(obj) {
			child := k
			if path != "" {
				child = path + "." + k
			}
			if unknown(obj[k], t.Elem(), child, visit) {
				return true
			}
		}
	}
	return false
}

func sortedKeys(obj map[string]any) []string {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// structFields lists the JSON names of a struct's fields with their types,
// as encoding/json sees them: tags, Go names, embedded structs' fields.
func structFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := f.Type
		if f.Anonymous && name == "" {
			et := ft
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				for k, v := range structFields(et) {
					if _, taken := out[k]; !taken {
						out[k] = v
					}
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = ft
	}
	return out
}

// locate finds the value of data that a type error without an offset is
// about: field is encoding/json's dotted path without indices; each value
// whose path is field (ignoring indices) is decoded alone into the Go type
// t has at that path, and the first that fails is it. It returns the path
// with indices, or field when none fails alone.
func locate(data []byte, t reflect.Type, field string) string {
	ft := typeAt(t, strings.Split(field, "."))
	if ft == nil || field == "" {
		return field
	}
	found := ""
	s := scanner{data: data}
	s.visit = func(path string, start, end int) {
		if found != "" || !strings.EqualFold(stripIndices(path), field) {
			return
		}
		if json.Unmarshal(data[start:end], reflect.New(ft).Interface()) != nil {
			found = path
		}
	}
	s.space()
	s.value(nil, 0)
	if found == "" {
		return field
	}
	return found
}

// stripIndices turns declarations[1].customs into declarations.customs
// and [2].amount into amount, as encoding/json names fields.
func stripIndices(path string) string {
	var b strings.Builder
	for i := 0; i < len(path); i++ {
		if path[i] == '[' {
			for i < len(path) && path[i] != ']' {
				i++
			}
			continue
		}
		b.WriteByte(path[i])
	}
	return strings.TrimPrefix(strings.ReplaceAll(b.String(), "..", "."), ".")
}

// typeAt follows JSON field names through t (structs, their embedded
// structs, slices, arrays, maps, pointers), matching names as
// encoding/json does, and returns the type found, or nil.
func typeAt(t reflect.Type, names []string) reflect.Type {
	for _, name := range names {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
			t = t.Elem()
		}
		switch t.Kind() {
		case reflect.Map:
			t = t.Elem()
		case reflect.Struct:
			fields := structFields(t)
			ft, ok := fields[name]
			if !ok {
				for n, typ := range fields {
					if strings.EqualFold(n, name) {
						ft, ok = typ, true
						break
					}
				}
			}
			if !ok {
				return nil
			}
			t = ft
		default:
			return nil
		}
	}
	return t
}
