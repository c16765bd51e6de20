// Application sharing's options: drawn by the desktop plugin's module (the same four requests, for one
// application window). An option's module is one of its own plugin's static files, so this one is here.
export { mount } from "/static/plugins/desktop/desktop.js";
