package cebtest

import (
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// EPortClient is a stand-in for the operator's E-Port client: it takes
// every message that appears in the outbox (as the real client does, it
// removes it from the folder), checks it is a complete CEB411, and writes
// CEB412 receipts for it into the inbox, in the order and with the
// duplicates its Script says. It runs until Stop.
type EPortClient struct {
	Outbox, Inbox string
	// Script returns the returnStatus values to answer a payment with, in
	// the order they are written (one file each), given its order number.
	Script func(orderNo string) []string
	// Every is how often the outbox is looked at (default 20ms).
	Every time.Duration

	mu       sync.Mutex
	taken    map[string][]string // guid → file names it came in
	orders   map[string]string   // guid → orderNo
	partial  []string            // files that were not a complete CEB411
	receipts int
	seq      int
	stop     chan struct{}
	done     chan struct{}
}

// Start begins watching.
func (c *EPortClient) Start() {
	c.taken, c.orders = map[string][]string{}, map[string]string{}
	c.stop, c.done = make(chan struct{}), make(chan struct{})
	every := c.Every
	if every <= 0 {
		every = 20 * time.Millisecond
	}
	go func() {
		defer close(c.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			c.scan()
			select {
			case <-c.stop:
				c.scan()
				return
			case <-t.C:
			}
		}
	}()
}

// Stop ends watching, after a last look at the outbox.
func (c *EPortClient) Stop() {
	close(c.stop)
	<-c.done
}

// Taken returns guid → the file names the message came in (more than one
// means the message was handed over twice), and guid → order number.
func (c *EPortClient) Taken() (map[string][]string, map[string]string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, o := map[string][]string{}, map[string]string{}
	for k, v := range c.taken {
		t[k] = append([]string(nil), v...)
	}
	for k, v := range c.orders {
		o[k] = v
	}
	return t, o
}

// Partial lists files that were not complete messages.
func (c *EPortClient) Partial() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.partial...)
}

// Receipts counts the receipt files written.
func (c *EPortClient) Receipts() int { c.mu.Lock(); defer c.mu.Unlock(); return c.receipts }

type message411 struct {
	XMLName xml.Name `xml:"http://www.chinaport.gov.cn/ceb CEB411Message"`
	Heads   []struct {
		GUID             string `xml:"http://www.chinaport.gov.cn/ceb guid"`
		PayCode          string `xml:"http://www.chinaport.gov.cn/ceb payCode"`
		PayTransactionID string `xml:"http://www.chinaport.gov.cn/ceb payTransactionId"`
		OrderNo          string `xml:"http://www.chinaport.gov.cn/ceb orderNo"`
	} `xml:"http://www.chinaport.gov.cn/ceb Payment>PaymentHead"`
}

func (c *EPortClient) scan() {
	entries, err := os.ReadDir(c.Outbox)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() {
			continue
		}
		path := filepath.Join(c.Outbox, name)
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		os.Remove(path) // taken, as the client moves sent files away
		var m message411
		if !strings.HasPrefix(name, "CEB_CEB411_") || !strings.HasSuffix(name, ".xml") ||
			!strings.HasSuffix(string(data), "</ceb:CEB411Message>\n") || xml.Unmarshal(data, &m) != nil || len(m.Heads) != 1 {
			c.mu.Lock()
			c.partial = append(c.partial, name)
			c.mu.Unlock()
			continue
		}
		h := m.Heads[0]
		c.mu.Lock()
		c.taken[h.GUID] = append(c.taken[h.GUID], name)
		c.orders[h.GUID] = h.OrderNo
		c.mu.Unlock()
		for _, st := range c.Script(h.OrderNo) {
			c.writeReceipt(h.GUID, h.PayCode, h.PayTransactionID, st)
		}
	}
}

// writeReceipt writes one CEB412 file, the way the E-Port delivers them:
// the default namespace, one PaymentReturn. Each status has its own
// returnTime (a later stage later), whatever order the files come in.
func (c *EPortClient) writeReceipt(guid, payCode, txn, status string) {
	c.mu.Lock()
	c.seq++
	seq := c.seq
	c.mu.Unlock()
	stage := map[string]int{"2": 1, "3": 2, "4": 2, "100": 3, "120": 3, "399": 4}[status]
	at := time.Date(2026, 3, 15, 15, 40, 0, 0, time.FixedZone("CST", 8*3600)).Add(time.Duration(stage) * time.Minute)
	info := map[string]string{"2": "电子口岸申报中", "3": "发送海关成功", "4": "发送海关失败", "100": "支付人身份信息不符，海关退单",
		"120": "海关入库成功", "399": "海关审结"}[status]
	if strings.HasPrefix(status, "-") {
		info = "报文格式校验未通过：签名无效"
	}
	body := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<CEB412Message xmlns="http://www.chinaport.gov.cn/ceb" guid="%s" version="1.0">
    <PaymentReturn>
        <guid>%s</guid>
        <payCode>%s</payCode>
        <payTransactionId>%s</payTransactionId>
        <returnStatus>%s</returnStatus>
        <returnTime>%s%03d</returnTime>
        <returnInfo>%s</returnInfo>
    </PaymentReturn>
</CEB412Message>
`, guid, guid, payCode, txn, status, at.Format("20060102150405"), at.Nanosecond()/1e6, info)
	name := fmt.Sprintf("CEB_CEB412_EPORT_DXPENT0000011951_%s%04d.xml", time.Now().Format("20060102150405000"), seq%10000)
	tmp := filepath.Join(c.Inbox, "."+name+".tmp")
	if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
		return
	}
	if os.Rename(tmp, filepath.Join(c.Inbox, name)) == nil {
		c.mu.Lock()
		c.receipts++
		c.mu.Unlock()
	}
}
