// Application sharing's options: the panels are drawn by the screen-sharing library (shared with
// desktop sharing; the same four requests, for one application window), served by the host from
// plugin_libs/screenshare/static/.
export { mount } from "/static/lib/screenshare/sharing.js";
