import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { cloudinitFormat, cloudinitImage, dumpCloudinit } from './files.js';
import { parseResolvConf } from './userdata.js';

// Expected texts are written from qemu-server 9.2.6's Cloudinit.pm (the Perl string building), not from this code.
const noHost = { host: { nameservers: [] }, warn: () => undefined };
const inputs = { ...noHost, custom: {} };
const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');
const HASH = '$5$abcdefghijklmnop$0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefg';

const linux = {
  name: 'web1',
  ciuser: 'bob',
  cipassword: HASH,
  sshkeys: 'ssh-ed25519%20AAAAC3NzaC1lZDI1NTE5AAAAIK%2Bx%20bob%40laptop%0Assh-rsa%20AAAAB3Nza%3D%3D%20ops%0A%0A',
  searchdomain: 'example.com',
  nameserver: '192.0.2.53 2001:db8::53',
  net0: 'virtio=BC:24:11:AA:BB:01,bridge=vmbr0',
  net1: 'virtio=BC:24:11:AA:BB:02,bridge=vmbr0',
  net2: 'e1000=BC:24:11:AA:BB:03,bridge=vmbr0,mtu=1400',
  ipconfig0: 'ip=192.0.2.10/24,gw=192.0.2.1,ip6=2001:db8::10/64,gw6=2001:db8::1',
  ipconfig1: 'ip=dhcp,ip6=auto',
  ipconfig2: 'ip6=dhcp',
};

const USER = `#cloud-config
hostname: web1
manage_etc_hosts: true
fqdn: web1.example.com
user: bob
password: ${HASH}
ssh_authorized_keys:
  - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK+x bob@laptop
  - ssh-rsa AAAAB3Nza== ops
chpasswd:
  expire: False
users:
  - default
package_upgrade: true
`;

const NETWORK_V1 = `version: 1
config:
    - type: physical
      name: eth0
      mac_address: 'bc:24:11:aa:bb:01'
      subnets:
      - type: static
        address: '192.0.2.10'
        netmask: '255.255.255.0'
        gateway: '192.0.2.1'
      - type: static6
        address: '2001:db8::10/64'
        gateway: '2001:db8::1'
    - type: physical
      name: eth1
      mac_address: 'bc:24:11:aa:bb:02'
      subnets:
      - type: dhcp4
      - type: ipv6_slaac
    - type: physical
      name: eth2
      mac_address: 'bc:24:11:aa:bb:03'
      subnets:
      - type: dhcp6
    - type: nameserver
      address:
      - '192.0.2.53'
      - '2001:db8::53'
      search:
      - 'example.com'
`;

describe('nocloud (the Linux default)', () => {
  it('writes user-data, network-config v1, meta-data with the SHA-1 instance id and an empty vendor-data', () => {
    const image = cloudinitImage(linux, 300, inputs);
    expect(image.format).toBe('nocloud');
    expect(image.label).toBe('cidata');
    expect(Object.keys(image.files).sort()).toEqual(['/meta-data', '/network-config', '/user-data', '/vendor-data']);
    expect(image.files['/user-data']).toBe(USER);
    expect(image.files['/network-config']).toBe(NETWORK_V1);
    expect(image.files['/meta-data']).toBe(`instance-id: ${sha1(USER + NETWORK_V1)}\n`);
    expect(image.files['/vendor-data']).toBe('');
  });

  it('names the VM VM<vmid> without a name, splits a dotted name, and handles root and ciupgrade 0', () => {
    const user = cloudinitImage({ ciuser: 'root', ciupgrade: '0' }, 301, inputs).files['/user-data'];
    expect(user).toBe(
      '#cloud-config\nhostname: VM301\nmanage_etc_hosts: true\nfqdn: VM301\nuser: root\ndisable_root: False\nchpasswd:\n  expire: False\n',
    );
    const dotted = cloudinitImage({ name: 'db.internal.example', searchdomain: 'other.example' }, 5, inputs).files['/user-data'];
    expect(dotted).toContain('hostname: db\nmanage_etc_hosts: true\nfqdn: db.internal.example\n');
  });

  it("takes DNS from the host's resolv.conf when the VM sets neither searchdomain nor nameserver; the nameserver entry is always there", () => {
    const host = parseResolvConf(
      '# generated\ndomain first.example\nsearch lan.example corp.example\nnameserver 10.0.0.1\nnameserver bogus\nnameserver fd00::1\nnameserver 10.0.0.3\nnameserver 10.0.0.4\n',
    );
    expect(host).toEqual({ search: 'lan.example', nameservers: ['10.0.0.1', 'fd00::1', '10.0.0.3'] });
    const conf = { net0: 'virtio=BC:24:11:AA:BB:01', ipconfig0: 'ip=dhcp' };
    const network = cloudinitImage(conf, 1, { ...inputs, host }).files['/network-config'];
    expect(network).toBe(
      "version: 1\nconfig:\n    - type: physical\n      name: eth0\n      mac_address: 'bc:24:11:aa:bb:01'\n      subnets:\n      - type: dhcp4\n" +
        "    - type: nameserver\n      address:\n      - '10.0.0.1'\n      - 'fd00::1'\n      - '10.0.0.3'\n      search:\n      - 'lan.example'\n",
    );
    expect(cloudinitImage({}, 1, inputs).files['/network-config']).toBe('version: 1\nconfig:\n    - type: nameserver\n');
  });

  it('skips NICs without ipconfig, orders netN as strings and refuses a NIC without MAC', () => {
    const conf = {
      net10: 'virtio=BC:24:11:00:00:10',
      net2: 'virtio=BC:24:11:00:00:02',
      net3: 'virtio=BC:24:11:00:00:03',
      ipconfig10: 'ip=dhcp',
      ipconfig2: 'ip=dhcp',
    };
    const network = cloudinitImage(conf, 1, inputs).files['/network-config'] as string;
    expect([...network.matchAll(/name: (eth\d+)/g)].map((m) => m[1])).toEqual(['eth10', 'eth2']);
    expect(() => cloudinitImage({ net0: 'virtio,bridge=vmbr0', ipconfig0: 'ip=dhcp' }, 1, inputs)).toThrow(
      "network interface 'net0' has no mac address",
    );
  });

  it('warns about an inconsistent ipconfig and writes the NIC without subnets, as qemu-server', () => {
    const warnings: string[] = [];
    const conf = { net0: 'virtio=BC:24:11:00:00:01', ipconfig0: 'ip=dhcp,gw=192.0.2.1' };
    const network = cloudinitImage(conf, 1, { ...inputs, warn: (m) => warnings.push(m) }).files['/network-config'];
    expect(network).toContain('      subnets:\n    - type: nameserver\n');
    expect(warnings).toEqual(['ipconfig0: gateway specified together with DHCP']);
  });

  it('uses cicustom snippets instead of the generated files; meta data follows the snippets', () => {
    const custom = { user: '#cloud-config\nruncmd: [true]\n', vendor: 'vendor: 1\n' };
    const image = cloudinitImage(linux, 300, { ...noHost, custom });
    expect(image.files['/user-data']).toBe(custom.user);
    expect(image.files['/vendor-data']).toBe(custom.vendor);
    expect(image.files['/meta-data']).toBe(`instance-id: ${sha1(custom.user + NETWORK_V1)}\n`);
    const meta = cloudinitImage(linux, 300, { ...noHost, custom: { meta: 'instance-id: fixed\n' } }).files['/meta-data'];
    expect(meta).toBe('instance-id: fixed\n');
  });

  it('refuses more than 3 MiB of files', () => {
    const custom = { user: 'x'.repeat(2 * 1024 * 1024), vendor: 'y'.repeat(1024 * 1024) };
    expect(() => cloudinitImage({}, 1, { ...noHost, custom })).toThrow('Cloud-Init sum of snippets too big (> 3 MiB)');
  });
});

describe('configdrive2', () => {
  it('is the default for Windows ostypes; citype wins', () => {
    expect(cloudinitFormat({ ostype: 'win11' })).toBe('configdrive2');
    expect(cloudinitFormat({ ostype: 'w2k8' })).toBe('configdrive2');
    expect(cloudinitFormat({ ostype: 'l26' })).toBe('nocloud');
    expect(cloudinitFormat({ ostype: 'win11', citype: 'nocloud' })).toBe('nocloud');
  });

  it('writes the Debian-interfaces network file and the openstack metadata for Linux guests', () => {
    const image = cloudinitImage({ ...linux, citype: 'configdrive2' }, 300, inputs);
    expect(image.label).toBe('config-2');
    const network =
      'auto lo\niface lo inet loopback\n\n        dns_nameservers 192.0.2.53 2001:db8::53\n        dns_search example.com\n' +
      'auto eth0\niface eth0 inet static\n        address 192.0.2.10\n        netmask 255.255.255.0\n        gateway 192.0.2.1\n' +
      'iface eth0 inet6 static\n        address 2001:db8::10\n        netmask 64\n        gateway 2001:db8::1\n' +
      'auto eth1\niface eth1 inet dhcp\niface eth1 inet6 auto\n' +
      'auto eth2\niface eth2 inet6 dhcp\n';
    expect(image.files).toEqual({
      '/openstack/latest/user_data': USER,
      '/openstack/content/0000': network,
      '/openstack/latest/meta_data.json': `{\n     "uuid": "${sha1(USER + network)}",\n     "network_config": { "content_path": "/content/0000" }\n}\n`,
      '/openstack/latest/vendor_data.json': '',
    });
    expect(dumpCloudinit({ ...linux, citype: 'configdrive2' }, 300, 'network', noHost)).toBe(network);
  });

  it('writes cloudbase-init files for Windows guests (dns per static address, password and keys in the metadata)', () => {
    const conf = {
      ostype: 'win10',
      cipassword: 'Secr3t!',
      sshkeys: 'ssh-rsa%20AAAA%20a%0Assh-rsa%20BBBB%20b',
      nameserver: '192.0.2.53',
      net0: 'virtio=BC:24:11:AA:BB:01',
      ipconfig0: 'ip=192.0.2.10/24,gw=192.0.2.1',
    };
    const image = cloudinitImage(conf, 7, inputs);
    const network =
      'auto eth0\niface eth0 inet static\n        address 192.0.2.10\n        netmask 255.255.255.0\n        gateway 192.0.2.1\n        dns-nameservers 192.0.2.53\n';
    expect(image.files['/openstack/content/0000']).toBe(network);
    const user = image.files['/openstack/latest/user_data'] as string;
    expect(JSON.parse(image.files['/openstack/latest/meta_data.json'] as string)).toEqual({
      uuid: sha1(user + network),
      network_config: { content_path: '/content/0000' },
      admin_pass: 'Secr3t!',
      public_keys: { 'key-0': 'ssh-rsa AAAA a', 'key-1': 'ssh-rsa BBBB b' },
    });
  });
});

describe('opennebula', () => {
  it('writes context.sh on a CONTEXT volume, the password as MIME base64 lines', () => {
    const conf = { ...linux, citype: 'opennebula' };
    const image = cloudinitImage(conf, 300, inputs);
    expect(image.label).toBe('CONTEXT');
    const b64 = Buffer.from(HASH).toString('base64');
    expect(b64.length).toBeGreaterThan(76);
    expect(image.files['/context.sh']).toBe(
      'USERNAME=bob\n' +
        `CRYPTED_PASSWORD_BASE64=${b64.slice(0, 76)}\n${b64.slice(76)}\n\n` +
        'SSH_PUBLIC_KEY="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK+x bob@laptop\nssh-rsa AAAAB3Nza== ops"\n' +
        'SET_HOSTNAME=web1\n' +
        'DNS="192.0.2.53 2001:db8::53"\n' +
        'SEARCH_DOMAIN="example.com"\n' +
        'ETH0_IP=192.0.2.10\nETH0_MASK=255.255.255.0\nETH0_MAC=bc:24:11:aa:bb:01\nETH0_GATEWAY=192.0.2.1\n' +
        'ETH0_IP6=2001:db8::10\nETH0_MASK6=64\nETH0_MAC6=bc:24:11:aa:bb:01\nETH0_GATEWAY6=2001:db8::1\n' +
        'ETH1_DHCP=YES\nETH1_AUTO6=YES\n' +
        'ETH2_DHCP6=YES\nETH2_MTU=1400\n' +
        'NETWORK=YES\n',
    );
  });

  it('defaults the user to root and keeps shell syntax in values inert', () => {
    const text = cloudinitImage({ citype: 'opennebula', searchdomain: 'a$(reboot)' }, 9, inputs).files['/context.sh'];
    expect(text).toBe("USERNAME=root\nSET_HOSTNAME=VM9\nSEARCH_DOMAIN='a$(reboot)'\n");
    const user = cloudinitImage({ citype: 'opennebula', ciuser: "x;rm -rf /'" }, 9, inputs).files['/context.sh'];
    expect(user).toContain("USERNAME='x;rm -rf /'\\'''\n");
  });
});

describe('dump (qm cloudinit dump)', () => {
  it('masks the password on request but computes the meta data from the real user data', () => {
    const user = dumpCloudinit(linux, 300, 'user', noHost, true);
    expect(user).toBe(USER.replace(`password: ${HASH}`, 'password: **********'));
    expect(dumpCloudinit(linux, 300, 'network', noHost)).toBe(NETWORK_V1);
    expect(dumpCloudinit(linux, 300, 'meta', noHost)).toBe(`instance-id: ${sha1(USER + NETWORK_V1)}\n`);
  });
});
