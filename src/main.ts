import { mount } from 'svelte';
import App from './ui/App.svelte';
import JoinView from './ui/JoinView.svelte';

const target = document.getElementById('app');
if (!target) throw new Error('beanlab: #app element missing from index.html');
// A join link (?join=CODE) opens the joiner's page: this browser becomes worker nodes of that room.
const join = new URLSearchParams(location.search).get('join');
export default join !== null ? mount(JoinView, { target, props: { code: join } }) : mount(App, { target });
