/**
 * @module run/hotplug/argv-parts
 * Picks one device's pieces out of a generated QEMU argv: the `-device` / `-netdev` value
 * with a given `id=`, the `-blockdev` JSON with a given node name and the `-object` with a
 * given id (JSON or `type,id=…` form). Hotplug asks the generator for the command line of
 * the changed config and plugs exactly these, so a hotplugged device is the one a restart
 * would create. Pure functions.
 */

function values(argv: readonly string[], flag: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length - 1; i++) if (argv[i] === flag) out.push(argv[i + 1] as string);
  return out;
}

const hasId = (value: string, id: string) => value.split(',').includes(`id=${id}`);

export function deviceArg(argv: readonly string[], id: string): string | undefined {
  return values(argv, '-device').find((v) => hasId(v, id));
}

export function netdevArg(argv: readonly string[], id: string): string | undefined {
  return values(argv, '-netdev').find((v) => hasId(v, id));
}

export function blockdevArg(argv: readonly string[], nodeName: string): Record<string, unknown> | undefined {
  for (const v of values(argv, '-blockdev')) {
    if (!v.startsWith('{')) continue;
    const json = JSON.parse(v) as Record<string, unknown>;
    if (json['node-name'] === nodeName) return json;
  }
  return undefined;
}

/** The object as object-add arguments (`qom-type` + properties). */
export function objectArg(argv: readonly string[], id: string): Record<string, unknown> | undefined {
  for (const v of values(argv, '-object')) {
    if (v.startsWith('{')) {
      const json = JSON.parse(v) as Record<string, unknown>;
      if (json.id === id) return json;
    } else if (hasId(v, id)) {
      const [type, ...props] = v.split(',');
      const args: Record<string, unknown> = { 'qom-type': type };
      for (const p of props) {
        const eq = p.indexOf('=');
        if (eq > 0) args[p.slice(0, eq)] = p.slice(eq + 1);
      }
      return args;
    }
  }
  return undefined;
}
