/**
 * @module config/options/display-audio
 * Display, input and audio options of qemu-server 9.2.6: `vga` (`$vga_fmt`), `audio0`
 * (`$audio_fmt`), `spice_enhancements`, plus the plain `tablet` and `keyboard` keys.
 */

import type { FormatSchema, PropertySchema } from '../../schema/types.js';

/** The `vga` format (anonymous in qemu-server; also registered as `pve-qm-vga`). */
export const vgaFormat: FormatSchema = {
  type: {
    description: "Select the VGA type. Using type 'cirrus' is not recommended.",
    type: 'string',
    default: 'std',
    optional: true,
    default_key: true,
    enum: [
      'cirrus',
      'qxl',
      'qxl2',
      'qxl3',
      'qxl4',
      'none',
      'serial0',
      'serial1',
      'serial2',
      'serial3',
      'std',
      'virtio',
      'virtio-gl',
      'vmware',
    ],
  },
  memory: {
    description: 'Sets the VGA memory (in MiB). Has no effect with serial display.',
    type: 'integer',
    optional: true,
    minimum: 4,
    maximum: 512,
  },
  clipboard: {
    description:
      'Enable a specific clipboard. If not set, depending on the display type the SPICE one' +
      ' will be added. Live migration with a VNC clipboard is not possible with QEMU' +
      ' machine version < 10.1.',
    type: 'string',
    enum: ['vnc'],
    optional: true,
  },
};

/** The `audio0` format (also registered as `pve-qm-audio`). */
export const audioFormat: FormatSchema = {
  device: { type: 'string', enum: ['ich9-intel-hda', 'intel-hda', 'AC97'], description: 'Configure an audio device.' },
  driver: {
    type: 'string',
    enum: ['spice', 'none'],
    default: 'spice',
    optional: true,
    description: 'Driver backend for the audio device.',
  },
};

/** The `spice_enhancements` format (also registered as `pve-qm-spice-enhancements`). */
export const spiceEnhancementsFormat: FormatSchema = {
  foldersharing: {
    type: 'boolean',
    optional: true,
    default: '0',
    description: 'Enable folder sharing via SPICE. Needs Spice-WebDAV daemon installed in the VM.',
  },
  videostreaming: {
    type: 'string',
    enum: ['off', 'all', 'filter'],
    default: 'off',
    optional: true,
    description: 'Enable video streaming. Uses compression for detected video streams.',
  },
};

/** PVE::Tools::kvmkeymaplist. */
export const kvmKeymaps: readonly string[] = [
  'de',
  'de-ch',
  'da',
  'en-gb',
  'en-us',
  'es',
  'fi',
  'fr',
  'fr-be',
  'fr-ca',
  'fr-ch',
  'hu',
  'is',
  'it',
  'ja',
  'lt',
  'mk',
  'nl',
  'no',
  'pl',
  'pt',
  'pt-br',
  'sv',
  'sl',
  'tr',
];

export const displayAudioKeys: Readonly<Record<string, PropertySchema>> = {
  vga: {
    optional: true,
    type: 'string',
    format: vgaFormat,
    description: 'Configure the VGA hardware.',
    verbose_description:
      'Configure the VGA Hardware. If you want to use high resolution' +
      ' modes (>= 1280x1024x16) you may need to increase the vga memory option. Since QEMU' +
      " 2.9 the default VGA display type is 'std' for all OS types besides some Windows" +
      " versions (XP and older) which use 'cirrus'. The 'qxl' option enables the SPICE" +
      ' display server. For win* OS you can select how many independent displays you want,' +
      ' Linux guests can add displays them self.\nYou can also run without any graphic card,' +
      ' using a serial device as terminal.',
  },
  audio0: {
    type: 'string',
    format: audioFormat,
    description: 'Configure a audio device, useful in combination with QXL/Spice.',
    optional: true,
  },
  spice_enhancements: {
    type: 'string',
    format: spiceEnhancementsFormat,
    description: 'Configure additional enhancements for SPICE.',
    optional: true,
  },
  tablet: {
    optional: true,
    type: 'boolean',
    default: 1,
    description: 'Enable/disable the USB tablet device.',
    verbose_description:
      'Enable/disable the USB tablet device. This device is usually needed' +
      ' to allow absolute mouse positioning with VNC. Else the mouse runs out of sync with' +
      " normal VNC clients. If you're running lots of console-only guests on one host, you" +
      ' may consider disabling this to save some context switches. This is turned off by' +
      ' default if you use spice (`qm set <vmid> --vga qxl`).',
  },
  keyboard: {
    optional: true,
    type: 'string',
    description:
      'Keyboard layout for VNC server. This option is generally not required and' + ' is often better handled from within the guest OS.',
    enum: kvmKeymaps,
  },
};

export const displayAudioFormats: Readonly<Record<string, FormatSchema>> = {
  'pve-qm-vga': vgaFormat,
  'pve-qm-audio': audioFormat,
  'pve-qm-spice-enhancements': spiceEnhancementsFormat,
};
