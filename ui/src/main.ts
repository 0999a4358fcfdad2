// Entry point of the admin page.
import { mount } from 'svelte';
import './app.css';
import App from './App.svelte';
import { app } from '$lib/app.svelte.ts';

mount(App, { target: document.getElementById('app')! });
void app.start();
