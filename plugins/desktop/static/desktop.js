// Desktop sharing's options: the panels are drawn by the screen-sharing library (shared with
// application sharing), served by the host from plugin_libs/screenshare/static/.
export { mount } from "/static/lib/screenshare/sharing.js";
