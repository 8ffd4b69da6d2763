/**
 * @module cloudinit/opennebula
 * The OpenNebula context file (`/context.sh` on a `CONTEXT` volume, qemu-server's
 * generate_opennebula) for `citype: opennebula`: user (default root), the password as
 * base64 of the stored hash (MIME lines of 76 characters, as Perl's encode_base64), ssh keys,
 * hostname, DNS and one `ETH<N>_*` block per `netN` with an `ipconfigN`. The guest sources the
 * file with a shell, so every free-text value is written as one shell word (cloudinit/quote).
 * Pure.
 */

import type { ConfigSection } from '../config/types.js';
import { ipconfigIfaces, type NetworkInputs, splitIp4 } from './network.js';
import { shellDoubleQuoted, shellWord } from './quote.js';
import { dnsConf, hostnameFqdn, uriUnescape } from './userdata.js';

/** MIME::Base64::encode_base64: 76-character lines, each ending in a newline. */
export function mimeBase64(text: string): string {
  const b64 = Buffer.from(text, 'utf8').toString('base64');
  let out = '';
  for (let i = 0; i < b64.length; i += 76) out += `${b64.slice(i, i + 76)}\n`;
  return out;
}

export function openNebulaContext(conf: ConfigSection, vmid: number, inputs: NetworkInputs): string {
  let out = '';
  out += `USERNAME=${shellWord(conf.ciuser || 'root')}\n`;
  if (conf.cipassword !== undefined) out += `CRYPTED_PASSWORD_BASE64=${mimeBase64(conf.cipassword)}\n`;
  if (conf.sshkeys !== undefined) {
    // Perl's split: trailing empty fields go, a leading one stays
    const keys = uriUnescape(conf.sshkeys).split(/\s*\n\s*/);
    while (keys.length > 0 && keys[keys.length - 1] === '') keys.pop();
    out += `SSH_PUBLIC_KEY=${shellDoubleQuoted(keys.join('\n'))}\n`;
  }
  out += `SET_HOSTNAME=${shellWord(hostnameFqdn(conf, vmid).hostname)}\n`;
  const { searchdomains, nameservers } = dnsConf(conf, inputs.host);
  if (nameservers.length > 0) out += `DNS=${shellDoubleQuoted(nameservers.join(' '))}\n`;
  if (searchdomains.length > 0) out += `SEARCH_DOMAIN=${shellDoubleQuoted(searchdomains.join(' '))}\n`;

  let networkEnabled = false;
  for (const iface of ipconfigIfaces(conf, inputs)) {
    const eth = `ETH${iface.id}`;
    // qemu-server reads the MAC from a `hwaddr` key netN never has and writes it empty; this is the netN's MAC
    const mac = iface.mac ?? '';
    const { ip, gw, ip6, gw6 } = iface.ipconfig;
    const mtu = iface.mtu ? `${eth}_MTU=${iface.mtu}\n` : '';
    if (ip) {
      networkEnabled = true;
      if (ip === 'dhcp') out += `${eth}_DHCP=YES\n`;
      else {
        const { addr, mask } = splitIp4(ip);
        out += `${eth}_IP=${addr}\n${eth}_MASK=${mask}\n${eth}_MAC=${mac}\n`;
        if (gw) out += `${eth}_GATEWAY=${gw}\n`;
      }
      out += mtu;
    }
    if (ip6) {
      networkEnabled = true;
      if (ip6 === 'dhcp') out += `${eth}_DHCP6=YES\n`;
      else if (ip6 === 'auto') out += `${eth}_AUTO6=YES\n`;
      else {
        const [addr, mask] = ip6.split('/');
        out += `${eth}_IP6=${addr}\n${eth}_MASK6=${mask ?? ''}\n${eth}_MAC6=${mac}\n`;
        if (gw6) out += `${eth}_GATEWAY6=${gw6}\n`;
      }
      out += mtu;
    }
  }
  if (networkEnabled) out += 'NETWORK=YES\n';
  return out;
}
