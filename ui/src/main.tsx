/**
 * @module ui/main
 * Entry point of the web UI: styles and the app mounted into #app.
 */

import { render } from 'preact';
import { App } from './app';
import './style.css';

render(<App />, document.getElementById('app') as HTMLElement);
