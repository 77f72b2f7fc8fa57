#!/usr/bin/env node
// The scaffolder as an installed command (package.json "bin"): runs scripts/new-connector.ts with
// the tsx of the checkout this file lives in, so it works from any directory once linked
// (`npm link`, or `npx opencti-new-connector` inside the checkout). Same arguments as `npm run new --`.
import { register } from 'tsx/esm/api';

register();
await import(new URL('../scripts/new-connector.ts', import.meta.url).href);
