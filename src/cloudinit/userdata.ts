/**
 * @module cloudinit/userdata
 * The user-data file every cloud-init format shares (qemu-server's cloudinit_userdata): a
 * `#cloud-config` document with hostname/fqdn (from `name`, else `VM<vmid>`, plus
 * `searchdomain`), `user`, `password` (the stored crypt hash; `**********` when masked for a
 * reader without VM.Config.Cloudinit), the URL-decoded `sshkeys`, `chpasswd`, the default user
 * and `package_upgrade` unless `ciupgrade: 0`. Also the DNS settings (`searchdomain`/
 * `nameserver`, else the host's resolv.conf as PVE::INotify reads it) that the network files
 * use. Pure: the host's resolv.conf comes in as text.
 */

import { isIP } from 'node:net';
import { perlTrue } from '../config/file/write.js';
import type { ConfigSection } from '../config/types.js';
import { yamlPlain } from './quote.js';

/** PVE::INotify's view of /etc/resolv.conf: the last `search`/`domain` word and up to three nameservers. */
export interface HostResolv {
  search?: string;
  nameservers: string[];
}

/** read_etc_resolv_conf on the file's text. */
export function parseResolvConf(text: string): HostResolv {
  const res: HostResolv = { nameservers: [] };
  for (const line of text.split('\n')) {
    const search = /^(?:search|domain)\s+(\S+)/.exec(line);
    if (search) res.search = search[1] as string;
    const ns = /^\s*nameserver\s+(\S+)/.exec(line);
    if (ns && isIP(ns[1] as string) && res.nameservers.length < 3) res.nameservers.push(ns[1] as string);
  }
  return res;
}

/** get_dns_conf: the config's searchdomain/nameserver (whitespace separated), else the host's. */
export function dnsConf(conf: ConfigSection, host: HostResolv): { searchdomains: string[]; nameservers: string[] } {
  const words = (s: string) => s.split(/\s+/).filter((w) => w !== '');
  const searchdomains = words(conf.searchdomain ?? host.search ?? '');
  const nameservers = conf.nameserver !== undefined ? words(conf.nameserver) : [...host.nameservers];
  return { searchdomains, nameservers };
}

/** get_hostname_fqdn. */
export function hostnameFqdn(conf: ConfigSection, vmid: number): { hostname: string; fqdn: string } {
  const name = conf.name ?? `VM${vmid}`;
  if (name.includes('.')) return { hostname: name.replace(/\..*$/s, ''), fqdn: name };
  if (conf.searchdomain) return { hostname: name, fqdn: `${name}.${conf.searchdomain}` };
  return { hostname: name, fqdn: name };
}

/** URI::Escape::uri_unescape: every `%XX` becomes that byte (a `+` stays a `+`). */
export function uriUnescape(text: string): string {
  if (!text.includes('%')) return text;
  const bytes: number[] = [];
  const src = Buffer.from(text, 'utf8');
  for (let i = 0; i < src.length; i++) {
    const hex = src[i] === 0x25 ? src.subarray(i + 1, i + 3).toString('latin1') : '';
    if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else bytes.push(src[i] as number);
  }
  return Buffer.from(bytes).toString('utf8');
}

/** The `sshkeys` lines qemu-server writes: decoded, split on newlines, blank lines dropped. */
export function sshKeyLines(sshkeys: string): string[] {
  return uriUnescape(sshkeys)
    .split('\n')
    .filter((k) => /\S/.test(k));
}

/** cloudinit_userdata. */
export function userData(conf: ConfigSection, vmid: number, maskPassword = false): string {
  const { hostname, fqdn } = hostnameFqdn(conf, vmid);
  let out = '#cloud-config\n';
  out += `hostname: ${yamlPlain(hostname)}\n`;
  out += 'manage_etc_hosts: true\n';
  out += `fqdn: ${yamlPlain(fqdn)}\n`;
  const user = conf.ciuser;
  const password = conf.cipassword;
  if (user !== undefined) out += `user: ${yamlPlain(user)}\n`;
  if (user === 'root') out += 'disable_root: False\n';
  if (password !== undefined) out += maskPassword ? 'password: **********\n' : `password: ${yamlPlain(password)}\n`;
  if (conf.sshkeys !== undefined) {
    out += 'ssh_authorized_keys:\n';
    for (const key of sshKeyLines(conf.sshkeys)) out += `  - ${yamlPlain(key)}\n`;
  }
  out += 'chpasswd:\n';
  out += '  expire: False\n';
  if (user !== 'root') out += 'users:\n  - default\n';
  if (conf.ciupgrade === undefined || perlTrue(conf.ciupgrade)) out += 'package_upgrade: true\n';
  return out;
}
