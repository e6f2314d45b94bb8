/**
 * Where webhooks may be delivered: public addresses only, unless an operator allows a host by name
 * (`WEBHOOK_ALLOW_HOSTS`). A webhook's URL is set over the API, so without this check a token holder could make the
 * host POST to its own loopback, its cloud's metadata service or the private network, and read the answers back in
 * the delivery log. The name is resolved before each attempt and every address it has must be public. (The
 * connection resolves it again: a name whose answers change between the two, DNS rebinding, is not caught here.)
 */

/** Why `url` may not be delivered to, or null when it may. `resolve` answers a name's addresses. */
export async function refusedTarget(
  url: URL,
  allowHosts: readonly string[],
  resolve: (name: string) => Promise<string[]> = resolveAll,
): Promise<string | null> {
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  if (allowHosts.includes(host)) return null;
  const named = isIpAddress(host) ? null : host;
  if (named === "localhost" || named?.endsWith(".localhost")) return `${host} is this machine (loopback)`;
  const addresses = named === null ? [host] : await resolve(named);
  if (addresses.length === 0) return `${host} does not resolve`;
  const inner = addresses.find(isNonPublic);
  return inner === undefined
    ? null
    : `${host} is ${named === null ? "" : `at ${inner}, `}not a public address (allow it in WEBHOOK_ALLOW_HOSTS)`;
}

/** A name's IPv4 and IPv6 addresses (none when it does not resolve). */
async function resolveAll(name: string): Promise<string[]> {
  const answers = await Promise.all(
    (["A", "AAAA"] as const).map((type) => Deno.resolveDns(name, type).catch(() => [] as string[])),
  );
  return answers.flat();
}

/** Whether `text` is an IPv4 or IPv6 address rather than a name. */
function isIpAddress(text: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(text) || text.includes(":");
}

/** IPv4 ranges that are not public: this network, private, shared (CGNAT), loopback, link-local, reserved, multicast. */
const V4_INNER: [string, number][] = [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
];

/** Whether an IP address (v4 or v6) is loopback, private, link-local, unique-local, multicast or otherwise not public. */
export function isNonPublic(address: string): boolean {
  const v4 = v4Number(address);
  if (v4 !== null) return V4_INNER.some(([net, bits]) => (v4 >>> (32 - bits)) === (v4Number(net)! >>> (32 - bits)));
  const groups = v6Groups(address);
  if (groups === null) return true; // not an address we can read: not delivered to
  if (groups.slice(0, 7).every((g) => g === 0) && groups[7] <= 1) return true; // :: and ::1
  const mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff; // ::ffff:a.b.c.d
  const nat64 = groups[0] === 0x64 && groups[1] === 0xff9b && groups.slice(2, 6).every((g) => g === 0); // 64:ff9b::/96
  if (mapped || nat64) {
    return isNonPublic(`${groups[6] >> 8}.${groups[6] & 255}.${groups[7] >> 8}.${groups[7] & 255}`);
  }
  const first = groups[0];
  return (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80 || (first & 0xff00) === 0xff00 ||
    first === 0x2001 && groups[1] === 0x0db8; // unique-local, link-local, multicast, documentation
}

/** An IPv4 address as a 32-bit number, or null. */
function v4Number(address: string): number | null {
  const parts = address.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return null;
  return parts.reduce((n, p) => n * 256 + Number(p), 0) >>> 0;
}

/** An IPv6 address as eight 16-bit groups (an embedded IPv4 tail read too), or null. */
function v6Groups(address: string): number[] | null {
  let text = address.split("%")[0];
  const tail = /(\d{1,3}(\.\d{1,3}){3})$/.exec(text);
  if (tail) {
    const v4 = v4Number(tail[1]);
    if (v4 === null) return null;
    text = `${text.slice(0, -tail[1].length)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const read = (s: string) =>
    s === "" ? [] : s.split(":").map((g) => /^[0-9a-f]{1,4}$/i.test(g) ? parseInt(g, 16) : NaN);
  const head = read(halves[0]);
  const rest = halves.length === 2 ? read(halves[1]) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const groups = [...head, ...Array(halves.length === 2 ? missing : 0).fill(0), ...rest];
  return groups.some(Number.isNaN) ? null : groups;
}
