import { version } from '../package.json';

/** The release this code is, from package.json (bundlers inline it). */
export const VERSION: string = version;
