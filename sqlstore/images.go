package sqlstore

import (
	"fmt"
	"math/bits"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/keyring"
)

// Row images: updates that write only what changed.
//
// A write transaction keeps, for every order and declaration it has read
// or written, the values of the row's mutable columns as they stand in the
// database at that version, in plain text (before sealing). An update of
// the same version then writes only the columns whose values differ. Two
// costs follow the columns an UPDATE names, not the values it changes:
// SQLite rewrites every index holding a column named in SET (an order has
// eight), and each sealed column written is sealed again (AES-GCM). A state
// change of three columns out of forty thus costs three.
//
// An image is only trusted for the version it was taken at: an update of
// an object read elsewhere (another version) writes every column, and the
// WHERE version = ? of every update still refuses a stale one. A rolled
// back savepoint forgets every image, since the rows it undid may no longer
// be what the images say.

// rowKey names one row of a table with images.
type rowKey struct {
	table *table
	id    int64
}

// rowImage is a row's mutable column values at a version. The values are
// compared with ==, so a table's args hold comparable values only (JSON
// columns as their text, not as []byte).
type rowImage struct {
	version int64
	vals    []any
}

// table describes the mutable columns of a table with images: their
// names, in the order of its args functions, and which are sealed.
type table struct {
	name   string
	cols   []string
	sealed []bool
	tail   string // after the SET list: the version bump and the WHERE clause

	shapes    sync.Map // column mask → UPDATE text
	setShapes sync.Map // column mask and types → set UPDATE text (updateset.go)

	lately  atomic.Pointer[[]any] // a row's values lately inserted, for new rows' boxes (template)
	inserts atomic.Uint64         // rows inserted, counted for lately's refresh
}

func newTable(name string, cols string, sealed []string, tail string) *table {
	tb := &table{name: name, tail: tail}
	for _, c := range strings.Split(cols, ",") {
		tb.cols = append(tb.cols, strings.TrimSpace(c))
	}
	if len(tb.cols) > 64 {
		panic("sqlstore: a table with images has at most 64 mutable columns")
	}
	tb.sealed = make([]bool, len(tb.cols))
	for _, s := range sealed {
		for i, c := range tb.cols {
			if c == s {
				tb.sealed[i] = true
			}
		}
	}
	return tb
}

// update returns the UPDATE of the columns in mask. The texts are built
// once per mask; a handful of masks cover every state change there is.
func (tb *table) update(mask uint64) string {
	if q, ok := tb.shapes.Load(mask); ok {
		return q.(string)
	}
	var sb strings.Builder
	sb.WriteString("UPDATE ")
	sb.WriteString(tb.name)
	sb.WriteString(" SET ")
	for i, c := range tb.cols {
		if mask&(1<<i) != 0 {
			sb.WriteString(c)
			sb.WriteString(" = ?, ")
		}
	}
	sb.WriteString(tb.tail)
	q := sb.String()
	tb.shapes.Store(mask, q)
	return q
}

// all is the mask of every column.
func (tb *table) all() uint64 {
	if len(tb.cols) == 64 {
		return ^uint64(0)
	}
	return 1<<len(tb.cols) - 1
}

// plainText stands in an image for a sealed column stored in plaintext by
// an earlier version: it equals no value, so the next update seals it.
type plainText struct{}

// remember keeps vals as the image of a row at version (write
// transactions only). raw, when given, holds the stored texts of the sealed
// columns, by column index, to tell a sealed value from a plaintext one.
func (t *Tx) remember(tb *table, id, version int64, vals []any, raw map[int]string) {
	if !t.write {
		return
	}
	for i, r := range raw {
		if r != "" && !keyring.IsSealed(r) {
			vals[i] = plainText{}
		}
	}
	if t.images == nil {
		t.images = map[rowKey]rowImage{}
	}
	t.images[rowKey{tb, id}] = rowImage{version: version, vals: vals}
}

// image returns the image of a row at version, nil when there is none.
func (t *Tx) image(tb *table, id, version int64) []any {
	if id == 0 || len(t.images) == 0 {
		return nil
	}
	img, ok := t.images[rowKey{tb, id}]
	if !ok || img.version != version || len(img.vals) != len(tb.cols) {
		return nil
	}
	return img.vals
}

// boxer builds a row's values (v), taking each one equal to the value in
// the same place of prev, the row's image, from prev: a value in an
// interface is a copy on the heap (a string's header, an integer past
// 255), and an update writes a row whose columns have mostly not changed
// since its image — an order paid changes 13 of its 38, the batch building
// its values three times (adopted, updated, remembered), each an
// allocation a column that the garbage collector then sweeps. The values
// keep their dynamic types, so changed compares them as before.
type boxer struct {
	prev []any
	v    []any
}

// str appends x to b.v: prev's value in its place when that is x. (One
// method a type, not one generic function: a generic one's type assertion
// goes through its dictionary, at several times the cost.)
func (b *boxer) str(x string) {
	if i := len(b.v); i < len(b.prev) {
		if p, ok := b.prev[i].(string); ok && p == x {
			b.v = append(b.v, b.prev[i])
			return
		}
	}
	b.v = append(b.v, x)
}

// i64 is str for an int64.
func (b *boxer) i64(x int64) {
	if i := len(b.v); i < len(b.prev) {
		if p, ok := b.prev[i].(int64); ok && p == x {
			b.v = append(b.v, b.prev[i])
			return
		}
	}
	b.v = append(b.v, x)
}

// int is str for an int.
func (b *boxer) int(x int) {
	if i := len(b.v); i < len(b.prev) {
		if p, ok := b.prev[i].(int); ok && p == x {
			b.v = append(b.v, b.prev[i])
			return
		}
	}
	b.v = append(b.v, x)
}

// bool appends x (a bool in an interface is never on the heap).
func (b *boxer) bool(x bool) { b.v = append(b.v, x) }

// imageOrTemplate is what a row's new values take their boxes from: its
// image at version, or, with none (a new row, or one read elsewhere), the
// table's template.
func (t *Tx) imageOrTemplate(tb *table, id, version int64) []any {
	if prev := t.image(tb, id, version); prev != nil {
		return prev
	}
	return tb.template()
}

// template returns the values of a row of tb lately inserted (nil: none
// yet), for a new row's boxer: the values many rows agree on — a
// merchant's currency, channel, protocol and notification URL, the
// statuses and the payer's ID type of a new order — are then that row's
// boxes, not an allocation each (about 25 of a pushed order's and its
// declaration's 63 values in the bench). The sealed columns' values are
// not kept: nothing personal stays in it.
func (tb *table) template() []any {
	if p := tb.lately.Load(); p != nil {
		return *p
	}
	return nil
}

// templateEvery is how many inserts of a table renew its template: a copy
// of the row's values each time would cost what the boxes it saves do.
const templateEvery = 64

// inserted counts a row of tb inserted with vals, taken for its template
// every templateEvery rows.
func (tb *table) inserted(vals []any) {
	if tb.inserts.Add(1)%templateEvery != 1 || len(vals) != len(tb.cols) {
		return
	}
	t := make([]any, len(vals))
	for i, v := range vals {
		if !tb.sealed[i] {
			t[i] = v
		}
	}
	tb.lately.Store(&t)
}

// changed returns the mask of the columns of vals that differ from the
// row's image at version: every column when there is no such image.
func (t *Tx) changed(tb *table, id, version int64, vals []any) uint64 {
	img, ok := t.images[rowKey{tb, id}]
	if !ok || img.version != version || len(img.vals) != len(vals) {
		return tb.all()
	}
	var mask uint64
	for i, v := range vals {
		if v != img.vals[i] {
			mask |= 1 << i
		}
	}
	return mask
}

// updateArgs returns the values of the columns in mask, sealing the sealed
// ones, followed by tail. The slice has room for updateRoom values more
// (writeRows appends a row's tail).
func (t *Tx) updateArgs(tb *table, mask uint64, vals []any, tail ...any) ([]any, error) {
	s := t.sealer()
	// Sized by the columns written, not the table's: an order paid writes
	// 13 of its 38, and its slice was more than twice what it used.
	args := make([]any, 0, bits.OnesCount64(mask)+max(len(tail), updateRoom))
	for i, v := range vals {
		if mask&(1<<i) == 0 {
			continue
		}
		if tb.sealed[i] {
			v = s.seal(v.(string))
		}
		args = append(args, v)
	}
	return append(args, tail...), s.err
}

// updateRoom is the room updateArgs leaves after a row's values: a
// table's tail (updated_at, id, merchant_id, version).
const updateRoom = 4

// sealAll seals the sealed columns of vals in place (for an insert).
func (t *Tx) sealAll(tb *table, vals []any) error {
	s := t.sealer()
	for i, v := range vals {
		if tb.sealed[i] {
			vals[i] = s.seal(v.(string))
		}
	}
	return s.err
}

// forgetImages drops every image (a savepoint was rolled back).
func (t *Tx) forgetImages() { clear(t.images) }

// AdoptRows takes orders and declarations the caller holds as they were
// committed, each at its Version (a job batch's orders from their pushes:
// core's freshRows), as if the transaction had read them: their images
// are kept, so that an update of one writes only the columns that differ.
// A row that has changed since is at another version, and its update
// fails as stale (the images are trusted at their version only).
func (t *Tx) AdoptRows(os []baoguan.Order, ds []baoguan.Declaration) error {
	for i := range os {
		vals, err := t.orderArgs(&os[i])
		if err != nil {
			return err
		}
		t.remember(orderTable, os[i].ID, os[i].Version, vals, nil)
	}
	for i := range ds {
		vals, err := t.declarationArgs(&ds[i])
		if err != nil {
			return err
		}
		t.remember(declarationTable, ds[i].ID, ds[i].Version, vals, nil)
	}
	return nil
}

// keptImages are the images of an order and its declarations as a
// transaction wrote them (RowImages), for another's AdoptImages.
type keptImages struct {
	order   rowImage
	orderID int64
	decls   []rowImage
	declIDs []int64
}

// RowImages returns the images this transaction holds of o and ds at their
// versions — what it wrote of them — for a later transaction's
// AdoptImages once this one has committed (core's freshRows: a push's rows
// kept for the batch that pays them), or nil when it holds none of one of
// them. The images are the values as stored, so the batch that adopts
// them need not build them again from the rows (AdoptRows); they are never
// modified, so they may be shared.
func (t *Tx) RowImages(o *baoguan.Order, ds []baoguan.Declaration) any {
	oi := t.image(orderTable, o.ID, o.Version)
	if oi == nil {
		return nil
	}
	k := &keptImages{order: rowImage{version: o.Version, vals: oi}, orderID: o.ID,
		decls: make([]rowImage, len(ds)), declIDs: make([]int64, len(ds))}
	for i := range ds {
		di := t.image(declarationTable, ds[i].ID, ds[i].Version)
		if di == nil {
			return nil
		}
		k.decls[i], k.declIDs[i] = rowImage{version: ds[i].Version, vals: di}, ds[i].ID
	}
	return k
}

// AdoptImages takes images another transaction's RowImages returned, for
// rows committed as it wrote them, as AdoptRows takes the rows: as if this
// transaction had read them. Anything else in imgs is an error.
func (t *Tx) AdoptImages(imgs []any) error {
	if !t.write {
		return nil
	}
	if t.images == nil {
		t.images = make(map[rowKey]rowImage, 2*len(imgs))
	}
	for _, img := range imgs {
		k, ok := img.(*keptImages)
		if !ok || k == nil {
			return fmt.Errorf("%s: adopt images: %T is not a row image", t.d.Name, img)
		}
		t.images[rowKey{orderTable, k.orderID}] = k.order
		for i, id := range k.declIDs {
			t.images[rowKey{declarationTable, id}] = k.decls[i]
		}
	}
	return nil
}
