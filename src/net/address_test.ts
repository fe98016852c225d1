import { assertEquals, assertThrows } from "../../tests/assert.ts";
import { canonicalHost, cidrContains, classifyAddress, parseCidr, parseIPv6 } from "./address.ts";

Deno.test("address: every IPv4 spelling of loopback canonicalises to 127.0.0.1", () => {
  for (
    const h of ["127.0.0.1", "0x7f000001", "2130706433", "017700000001", "0177.0.0.1", "127.1"]
  ) {
    assertEquals(canonicalHost(h), { kind: "ipv4", address: "127.0.0.1", value: 0x7f000001 }, h);
    assertEquals(classifyAddress(h), "loopback", h);
  }
});

Deno.test("address: classes of IPv4 ranges", () => {
  const cases: [string, string][] = [
    ["10.0.0.1", "private"],
    ["172.16.5.4", "private"],
    ["172.32.0.1", "public"],
    ["192.168.1.1", "private"],
    ["100.64.0.1", "cgnat"],
    ["100.100.100.200", "metadata"],
    ["169.254.169.254", "metadata"],
    ["169.254.1.1", "link-local"],
    ["0.0.0.0", "unspecified"],
    ["224.0.0.251", "multicast"],
    ["255.255.255.255", "broadcast"],
    ["240.0.0.1", "reserved"],
    ["198.18.0.1", "reserved"],
    ["192.0.2.10", "documentation"],
    ["8.8.8.8", "public"],
    ["1.1.1.1", "public"],
  ];
  for (const [a, c] of cases) assertEquals(classifyAddress(a), c, a);
});

Deno.test("address: IPv6 classes, including IPv4 hidden inside IPv6", () => {
  const cases: [string, string][] = [
    ["::1", "loopback"],
    ["::", "unspecified"],
    ["::ffff:127.0.0.1", "loopback"],
    ["[::ffff:7f00:1]", "loopback"],
    ["::ffff:10.0.0.1", "private"],
    ["::ffff:169.254.169.254", "metadata"],
    ["::ffff:0:127.0.0.1", "loopback"],
    ["::127.0.0.1", "loopback"],
    ["64:ff9b::a00:1", "private"],
    ["2002:7f00:1::", "loopback"],
    ["fd00:ec2::254", "metadata"],
    ["fd12:3456::1", "unique-local"],
    ["fe80::1", "link-local"],
    ["ff02::1", "multicast"],
    ["2001:db8::1", "documentation"],
    ["2001:0:4136:e378::1", "reserved"],
    ["2606:4700:4700::1111", "public"],
    ["::ffff:8.8.8.8", "public"],
  ];
  for (const [a, c] of cases) assertEquals(classifyAddress(a), c, a);
});

Deno.test("address: parsing rejects malformed input", () => {
  assertEquals(parseIPv6("1::2::3"), null);
  assertEquals(parseIPv6("12345::"), null);
  assertEquals(parseIPv6("fe80::1%eth0"), null);
  assertThrows(() => classifyAddress("example.com"), TypeError);
  assertEquals(canonicalHost("Example.COM."), { kind: "name", name: "example.com" });
});

Deno.test("address: CIDR containment, mapped IPv6 counts as IPv4", () => {
  const net = parseCidr("10.0.0.0/8")!;
  assertEquals(cidrContains(net, canonicalHost("10.200.0.1")), true);
  assertEquals(cidrContains(net, canonicalHost("11.0.0.1")), false);
  assertEquals(cidrContains(net, canonicalHost("::ffff:10.0.0.1")), true);
  const v6 = parseCidr("fd00::/8")!;
  assertEquals(cidrContains(v6, canonicalHost("fd12::1")), true);
  assertEquals(cidrContains(v6, canonicalHost("fe80::1")), false);
  assertEquals(parseCidr("10.0.0.0/33"), null);
  assertEquals(parseCidr("example.com/8"), null);
});
