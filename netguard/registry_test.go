package netguard

// registryCases test Allowed against the IANA IPv4 and IPv6 special-purpose
// address registries, block by block (first, last and a middle address of
// each, and the neighbours just outside), and every way an IPv4 address
// can be written inside an IPv6 one. No address here is ever dialed.
var registryCases = []struct {
	ip   string
	want bool
}{
	// IPv4 registry.
	{"0.0.0.0", false}, {"0.255.255.255", false}, {"1.0.0.0", true},
	{"9.255.255.255", true}, {"10.0.0.0", false}, {"10.255.255.255", false}, {"11.0.0.0", true},
	{"100.63.255.255", true}, {"100.64.0.0", false}, {"100.127.255.255", false}, {"100.128.0.0", true},
	{"126.255.255.255", true}, {"127.0.0.0", false}, {"127.0.0.1", false}, {"127.255.255.255", false}, {"128.0.0.0", true},
	{"169.253.255.255", true}, {"169.254.0.0", false}, {"169.254.169.254", false}, {"169.254.255.255", false}, {"169.255.0.0", true},
	{"172.15.255.255", true}, {"172.16.0.0", false}, {"172.31.255.255", false}, {"172.32.0.0", true},
	{"191.255.255.255", true},
	{"192.0.0.0", false}, {"192.0.0.1", false}, {"192.0.0.7", false}, {"192.0.0.8", false}, // DS-Lite, dummy
	{"192.0.0.9", true}, {"192.0.0.10", true}, // PCP and TURN anycast: globally reachable
	{"192.0.0.11", false}, {"192.0.0.170", false}, {"192.0.0.171", false}, {"192.0.0.255", false},
	{"192.0.1.0", true}, {"192.0.2.0", false}, {"192.0.2.123", false}, {"192.0.2.255", false}, {"192.0.3.0", true},
	{"192.31.196.1", true}, {"192.52.193.1", true}, {"192.175.48.1", true}, // AS112, AMT: globally reachable
	{"192.88.98.255", true}, {"192.88.99.0", false}, {"192.88.99.1", false}, {"192.88.99.2", false}, {"192.88.99.255", false}, {"192.88.100.0", true},
	{"192.167.255.255", true}, {"192.168.0.0", false}, {"192.168.1.1", false}, {"192.168.255.255", false}, {"192.169.0.0", true},
	{"198.17.255.255", true}, {"198.18.0.0", false}, {"198.19.255.255", false}, {"198.20.0.0", true},
	{"198.51.99.255", true}, {"198.51.100.0", false}, {"198.51.100.77", false}, {"198.51.100.255", false}, {"198.51.101.0", true},
	{"203.0.112.255", true}, {"203.0.113.0", false}, {"203.0.113.10", false}, {"203.0.113.255", false}, {"203.0.114.0", true},
	{"223.255.255.255", true}, {"224.0.0.0", false}, {"239.255.255.255", false},
	{"240.0.0.0", false}, {"254.255.255.255", false}, {"255.255.255.254", false}, {"255.255.255.255", false},

	// IPv6 registry and address space.
	{"::", false}, {"::1", false}, {"::2", false},
	{"::127.0.0.1", false}, {"::10.0.0.1", false}, {"::8.8.8.8", false}, // IPv4-compatible (deprecated): never routed
	{"::ffff:0.0.0.0", false}, {"::ffff:127.0.0.1", false}, {"::ffff:192.0.0.8", false}, {"::ffff:192.0.0.9", true},
	{"::ffff:100.64.0.1", false}, {"::ffff:203.0.113.5", false}, {"::ffff:1.1.1.1", true},
	{"::ffff:0:0:0", false}, // SIIT IPv4-translated (RFC 2765), outside 2000::/3
	{"64:ff9b::", false}, {"64:ff9b::a00:1", false}, {"64:ff9b::c0a8:101", false}, {"64:ff9b::6440:1", false},
	{"64:ff9b::c000:8", false}, {"64:ff9b::c000:9", true}, {"64:ff9b::cb00:7105", false}, {"64:ff9b::101:101", true},
	{"64:ff9b::ffff:ffff", false}, {"64:ff9b::e000:1", false},
	{"64:ff9b:1::", false}, {"64:ff9b:1::808:808", false}, {"64:ff9b:1:ffff::1", false}, // local-use NAT64
	{"100::", false}, {"100::ffff:ffff:ffff:ffff", false}, {"100:0:0:1::1", false}, // discard, dummy
	{"1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false}, {"2000::", true}, {"2000::1", true},
	{"2001::", false}, {"2001::1", false}, {"2001:0:4136:e378:8000:63bf:3fff:fdd2", false}, // Teredo
	{"2001:1::", false}, {"2001:1::1", true}, {"2001:1::2", true}, {"2001:1::3", true}, {"2001:1::4", false},
	{"2001:2::", false}, {"2001:2:0:ffff::1", false}, {"2001:3::1", true}, {"2001:4:112::1", true}, {"2001:4:113::1", false},
	{"2001:10::1", false}, {"2001:1f:ffff::1", false}, {"2001:20::1", true}, {"2001:2f:ffff::1", true}, {"2001:30::1", true},
	{"2001:1ff:ffff:ffff::1", false}, {"2001:200::1", true}, // the end of 2001::/23 and just past it
	{"2001:db7:ffff:ffff::1", true}, {"2001:db8::", false}, {"2001:db8::1", false}, {"2001:db8:ffff:ffff::1", false}, {"2001:db9::1", true},
	{"2002::", false}, {"2002:7f00:1::1", false}, {"2002:a00:1::1", false}, {"2002:c0a8:101::1", false}, {"2002:a9fe:a9fe::1", false},
	{"2002:c000:8::1", false}, {"2002:c000:9::1", true}, {"2002:808:808::1", true}, {"2002:101:101:ffff::1", true}, // 6to4
	{"2400:cb00::1", true}, {"2620:4f:8000::1", true}, {"2a00:1450:4001::1", true},
	{"3ffe::1", true}, {"3fff::", false}, {"3fff:fff:ffff::1", false}, {"3fff:1000::1", true},
	{"4000::1", false}, {"5f00::1", false}, {"8000::1", false}, // outside 2000::/3
	{"fbff:ffff::1", false}, {"fc00::", false}, {"fdff:ffff::1", false}, {"fe00::1", false},
	{"fe80::", false}, {"febf:ffff::1", false}, {"fec0::1", false}, {"feff::1", false},
	{"ff00::", false}, {"ff02::1", false}, {"ff05::1:3", false}, {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false},
}
