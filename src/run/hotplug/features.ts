/**
 * @module run/hotplug/features
 * parse_hotplug_features: the `hotplug` option as a set of features. `1` means the default
 * `network,disk,usb`, `0` none; anything else is a comma list of network, disk, cpu, memory,
 * usb and cloudinit.
 */

import { CvmError } from '../../errors.js';

export type HotplugFeature = 'network' | 'disk' | 'cpu' | 'memory' | 'usb' | 'cloudinit';

export const DEFAULT_HOTPLUG = 'network,disk,usb';

export function parseHotplugFeatures(value: string): Set<HotplugFeature> {
  const features = new Set<HotplugFeature>();
  if (value === '0') return features;
  const list = value === '1' ? DEFAULT_HOTPLUG : value;
  for (const feature of list.split(/[,;\s]+/).filter(Boolean)) {
    if (!/^(network|disk|cpu|memory|usb|cloudinit)$/.test(feature)) {
      throw new CvmError('PARAM_INVALID', `invalid hotplug feature '${feature}'`);
    }
    features.add(feature as HotplugFeature);
  }
  return features;
}
