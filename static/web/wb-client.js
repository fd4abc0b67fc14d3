// The workbench's one API client (lib/api.js): the server's messages are shown as they are.

import { newClient } from './lib/api.js';

export const client = newClient();
