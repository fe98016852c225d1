/**
 * How a sandbox without a network gets the gateway's egress proxy, and nothing else.
 *
 * The sandbox has its own network namespace with only a loopback interface, so no address
 * outside it can be reached. The proxy (`startEgressProxy` in `src/guard/egress.ts`) listens
 * on a Unix socket in a private folder of the gateway; that folder is bound into the sandbox
 * at {@linkcode EGRESS_DIR}. Programs speak TCP to a proxy, not Unix sockets, so a tiny relay
 * inside the sandbox listens on `127.0.0.1:`{@linkcode RELAY_PORT} (the sandbox's own
 * loopback) and copies each connection to the socket; `HTTP_PROXY`/`HTTPS_PROXY` point there.
 * The relay is Perl with core modules only, because `perl-base` is part of every Debian and
 * Ubuntu system (it is "Essential") and so is inside the bound `/usr` without extra setup.
 *
 * Everything that decides (allow-list, resolved addresses, metadata refusal, audit) happens in
 * the gateway's proxy; the relay only moves bytes, so a command that kills or replaces it gains
 * nothing: it can reach the socket directly anyway, and the socket is the only way out.
 *
 * @module
 */

/** Where the proxy's folder appears inside the sandbox. */
export const EGRESS_DIR = "/run/wirken-egress";
/** The relay's port on the sandbox's own loopback. */
export const RELAY_PORT = 3128;

/**
 * The relay. Arguments: socket path, port, then the command. It listens first, then forks:
 * the parent becomes the command (so its exit code is the sandbox's), the child serves
 * connections until the sandbox ends (bubblewrap kills the namespace with the command).
 */
export const RELAY_SCRIPT = `
use strict; use warnings;
use IO::Socket::INET; use IO::Socket::UNIX; use IO::Select; use Socket qw(SOCK_STREAM);
my $path = shift @ARGV; my $port = shift @ARGV;
my $l = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => $port, Listen => 64,
  ReuseAddr => 1, Proto => "tcp") or die "wirken egress relay: cannot listen on $port: $!\\n";
my $pid = fork(); die "wirken egress relay: fork: $!\\n" unless defined $pid;
if ($pid != 0) { close $l; exec { $ARGV[0] } @ARGV; die "cannot run $ARGV[0]: $!\\n"; }
open STDIN, "<", "/dev/null"; open STDOUT, ">", "/dev/null"; open STDERR, ">", "/dev/null";
$SIG{CHLD} = "IGNORE";
while (my $c = $l->accept) {
  my $k = fork();
  if (!defined $k) { close $c; next; }
  if ($k != 0) { close $c; next; }
  close $l;
  my $u = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $path) or exit 1;
  my $s = IO::Select->new($c, $u); my %open = ($c => 1, $u => 1);
  while ($s->count) {
    for my $r ($s->can_read) {
      my $w = $r == $c ? $u : $c; my $buf;
      my $n = sysread($r, $buf, 65536);
      if (!$n) { $s->remove($r); shutdown($w, 1); next; }
      my $off = 0;
      while ($off < $n) { my $m = syswrite($w, $buf, $n - $off, $off); exit 0 unless $m; $off += $m; }
    }
  }
  exit 0;
}
`;

/** The proxy URL programs inside the sandbox use (with the proxy's credentials). */
export function relayProxyUrl(credentials: { username: string; password: string }): string {
  return `http://${encodeURIComponent(credentials.username)}:${
    encodeURIComponent(credentials.password)
  }@127.0.0.1:${RELAY_PORT}`;
}

/** The environment that sends a sandboxed program's HTTP(S) through the relay. */
export function proxyEnv(proxyUrl: string): Record<string, string> {
  return {
    HTTP_PROXY: proxyUrl,
    HTTPS_PROXY: proxyUrl,
    http_proxy: proxyUrl,
    https_proxy: proxyUrl,
    ALL_PROXY: proxyUrl,
    all_proxy: proxyUrl,
    // Nothing bypasses the proxy: there is no direct route anyway, and a bypass would only
    // turn a clear refusal into a confusing connection error.
    NO_PROXY: "",
    no_proxy: "",
  };
}

/** `argv` run behind the relay, for the socket `socketName` inside {@linkcode EGRESS_DIR}. */
export function relayArgv(perl: string, socketName: string, argv: readonly string[]): string[] {
  return [perl, "-e", RELAY_SCRIPT, `${EGRESS_DIR}/${socketName}`, String(RELAY_PORT), ...argv];
}
