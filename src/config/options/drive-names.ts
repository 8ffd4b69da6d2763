/**
 * @module config/options/drive-names
 * Stable import path for the drive key names (valid_drive_names and friends), which are
 * defined next to the drive formats in drives.ts; cfg2cmd imports them from here.
 */

export {
  isValidDriveName,
  validDriveNames,
  validDriveNamesForBoot,
  validDriveNamesWithUnused,
} from './drives.js';
